// A new channel: from a template, from a clone of another channel or from an imported JSON file (the channels
// list and the editor pass the text in the navigation state). Saving creates it; the hub refuses a bad definition
// or a taken id at its path, and the new channel is then deployed from its editor.
import { Button, Group, Stack, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { ApiError, type ApiIssue, post } from '../api/client.ts';
import { JsonEditor, parseJson } from '../ui/JsonEditor.tsx';
import { ErrorNote } from '../ui/states.tsx';

const template = {
  id: 'new-channel',
  name: 'New channel',
  enabled: true,
  source: { type: 'mllp', settings: { host: '127.0.0.1', port: 6670 } },
  destinations: [
    {
      name: 'out',
      connector: { type: 'file', settings: { directory: 'data/out' } },
      queue: 'ordered',
      retry: { initialDelayMs: 1000, maxDelayMs: 60000, multiplier: 2 },
      maxAttempts: 0,
    },
  ],
};

export interface NewChannelState {
  text: string;
  from: string;
}

export function NewChannel() {
  const location = useLocation();
  const navigate = useNavigate();
  const given = location.state as NewChannelState | null;
  const [text, setText] = useState(given?.text ?? JSON.stringify(template, null, 2));
  const [issues, setIssues] = useState<readonly ApiIssue[]>([]);
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const create = async () => {
    const parsed = parseJson(text);
    if ('error' in parsed) return;
    setBusy(true);
    setFailure(undefined);
    try {
      const saved = await post<{ id: string; revision: number }>('/api/channels', parsed.value);
      navigate(`/channels/${encodeURIComponent(saved.id)}`);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 400 || error.status === 409)) setIssues(error.issues);
      else setFailure(error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Stack>
      <Text component={Link} to="/channels" size="sm" c="dimmed">
        ← Channels
      </Text>
      <Title order={2}>New channel</Title>
      <Text size="sm" c="dimmed">
        {given?.from ?? 'From a template: change the id, the name, the source and the destinations.'}
      </Text>
      {failure !== undefined && <ErrorNote error={failure} title="Could not create the channel" />}
      <JsonEditor label="Channel definition (JSON)" value={text} onChange={setText} issues={issues} />
      <Group>
        <Button onClick={create} loading={busy}>
          Create channel
        </Button>
        <Button variant="subtle" component={Link} to="/channels">
          Cancel
        </Button>
      </Group>
    </Stack>
  );
}
