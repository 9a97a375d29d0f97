// A list of short codes (AE titles, MSH-4 sending facility codes): one input per entry, so the hub's issue at
// `aeTitles[1]` shows under the second input, with buttons to add and remove entries.
import { Button, Group, Input, Stack, Text } from '@mantine/core';
import { listAt } from './draft.ts';
import { TextField } from './fields.tsx';
import { useFacilityForm } from './form-context.ts';
import { RemoveButton } from './RemoveButton.tsx';

interface StringListProps {
  field: 'aeTitles' | 'sendingFacilities';
  /** Names one entry: "AE title". */
  noun: string;
  label: string;
  description: string;
}

export function StringList({ field, noun, label, description }: StringListProps) {
  const { draft, set, readOnly } = useFacilityForm();
  const items = listAt(draft, [field]);
  return (
    <Input.Wrapper label={label} description={description}>
      <Stack gap={6} mt={6}>
        {items.length === 0 && (
          <Text size="sm" c="dimmed">
            None.
          </Text>
        )}
        {items.map((_, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: entries are plain strings that may repeat while typed
          <Group key={i} gap={6} wrap="nowrap" align="flex-start">
            <TextField path={[field, i]} label={`${noun} ${i + 1}`} hideLabel keepEmpty w={220} />
            <RemoveButton list={[field]} index={i} label={`Remove ${noun} ${i + 1}`} />
          </Group>
        ))}
        {!readOnly && (
          <Button variant="light" size="xs" w="fit-content" onClick={() => set([field, items.length], '')}>
            Add {noun}
          </Button>
        )}
      </Stack>
    </Input.Wrapper>
  );
}
