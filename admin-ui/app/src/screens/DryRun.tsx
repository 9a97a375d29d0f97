// Test a channel: a pasted sample message goes through the definition being edited (filter and map, each
// destination's filter and map) on the hub without being stored or sent, and the result is shown per destination.
import { Alert, Badge, Button, Card, Code, Group, Stack, Text, Textarea } from '@mantine/core';
import { useState } from 'react';
import { post } from '../api/client.ts';
import type { DryRunResult } from '../api/types.ts';
import { parseJson } from '../ui/JsonEditor.tsx';
import { ErrorNote } from '../ui/states.tsx';

export function DryRun({ definitionText }: { definitionText: string }) {
  const [message, setMessage] = useState('');
  const [result, setResult] = useState<DryRunResult>();
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const parsed = parseJson(definitionText);

  const run = async () => {
    if ('error' in parsed) return;
    setBusy(true);
    setFailure(undefined);
    setResult(undefined);
    try {
      // HL7 segments end with CR (ch. 2.5.1); a textarea gives LF.
      setResult(
        await post<DryRunResult>('/api/channels/test', {
          channel: parsed.value,
          message: message.replace(/\r?\n/g, '\r'),
        }),
      );
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Stack>
      <Text size="sm" c="dimmed">
        Runs the definition as edited above, saved or not. Nothing is stored or sent.
      </Text>
      <Textarea
        label="Sample message"
        description="Paste an HL7 v2 message (one segment per line) or a JSON document."
        value={message}
        onChange={(e) => setMessage(e.currentTarget.value)}
        autosize
        minRows={6}
        styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 13 } }}
      />
      {'error' in parsed && <Alert color="orange">Fix the definition's JSON first.</Alert>}
      <Button onClick={run} loading={busy} disabled={message.trim() === '' || 'error' in parsed} w="fit-content">
        Run the test
      </Button>
      {failure !== undefined && <ErrorNote error={failure} title="The test could not run" />}
      {result && (
        <Stack gap="sm" data-testid="dry-run-result">
          <Outcome title="The channel" filtered={result.filtered} output={result.output} error={result.error} />
          {(result.destinations ?? []).map((d) => (
            <Outcome
              key={d.name}
              title={`Destination ${d.name}`}
              filtered={d.filtered}
              output={d.output}
              error={d.error}
            />
          ))}
        </Stack>
      )}
    </Stack>
  );
}

interface OutcomeProps {
  title: string;
  filtered: boolean;
  output: string | null;
  error: string | null;
}

/** What one step made of the message: its error, or filtered out, or the mapped output. */
function Outcome({ title, filtered, output, error }: OutcomeProps) {
  const state = error ? 'failed' : filtered ? 'filtered out' : 'accepted';
  return (
    <Card withBorder data-testid="dry-run-step">
      <Group gap="sm" mb={error || output ? 'xs' : 0}>
        <Text fw={600}>{title}</Text>
        <Badge color={error ? 'red' : filtered ? 'gray' : 'teal'}>{state}</Badge>
      </Group>
      {error && (
        <Alert color="red" variant="light">
          {error}
        </Alert>
      )}
      {!error && output && <Code block>{output.replace(/\r\n?/g, '\n')}</Code>}
    </Card>
  );
}
