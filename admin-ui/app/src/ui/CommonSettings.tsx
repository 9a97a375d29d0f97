// The settings an analyst changes most, as a form above the JSON: the channel's name, whether it is enabled and
// how long its messages are kept. Each control edits the JSON text, so the two never disagree; while the text is
// not valid JSON the form is disabled.
import { Group, NumberInput, Switch, TextInput } from '@mantine/core';
import { parseJson } from './JsonEditor.tsx';

interface CommonSettingsProps {
  text: string;
  onChange(text: string): void;
  readOnly: boolean;
}

type Definition = Record<string, unknown>;

export function CommonSettings({ text, onChange, readOnly }: CommonSettingsProps) {
  const parsed = parseJson(text);
  const definition: Definition | undefined =
    'value' in parsed && typeof parsed.value === 'object' && parsed.value !== null
      ? (parsed.value as Definition)
      : undefined;
  const disabled = readOnly || definition === undefined;
  const set = (key: string, value: unknown) => {
    if (definition) onChange(JSON.stringify({ ...definition, [key]: value }, null, 2));
  };
  return (
    <Group align="flex-end" gap="lg">
      <TextInput
        label="Name"
        w={320}
        disabled={disabled}
        value={typeof definition?.['name'] === 'string' ? definition['name'] : ''}
        onChange={(e) => set('name', e.currentTarget.value)}
      />
      <NumberInput
        label="Keep messages (days; 0: always)"
        w={280}
        min={0}
        disabled={disabled}
        value={typeof definition?.['retentionDays'] === 'number' ? definition['retentionDays'] : ''}
        onChange={(value) => set('retentionDays', typeof value === 'number' ? value : 0)}
      />
      <Switch
        label="Enabled"
        mb={8}
        disabled={disabled}
        checked={definition?.['enabled'] !== false}
        onChange={(e) => set('enabled', e.currentTarget.checked)}
      />
    </Group>
  );
}
