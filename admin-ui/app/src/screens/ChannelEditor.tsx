// One channel: its definition as JSON (the hub validates a save and names the path of each mistake), deploy,
// its revisions with a diff and revert, and a dry run of a sample message. Read-only users see the JSON only.
import { Alert, Badge, Button, Group, Stack, Tabs, Text, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiError, type ApiIssue, del, get, post, put } from '../api/client.ts';
import type { StoredChannel } from '../api/types.ts';
import { useSession } from '../session.tsx';
import { CommonSettings } from '../ui/CommonSettings.tsx';
import { formatDateTime, stateColor } from '../ui/format.ts';
import { downloadJson } from '../ui/files.ts';
import { JsonEditor, parseJson } from '../ui/JsonEditor.tsx';
import { ErrorNote, Loadable } from '../ui/states.tsx';
import { useLoad } from '../ui/use-load.ts';
import { DryRun } from './DryRun.tsx';
import { Revisions } from './Revisions.tsx';

export function ChannelEditor() {
  const id = useParams()['id'] ?? '';
  const path = `/api/channels/${encodeURIComponent(id)}`;
  const channel = useLoad(() => get<StoredChannel>(path), [path]);
  return (
    <Stack>
      <Group gap="xs">
        <Text component={Link} to="/channels" size="sm" c="dimmed">
          Channels
        </Text>
        <Text size="sm" c="dimmed">
          /
        </Text>
        <Text size="sm">{id}</Text>
      </Group>
      <Loadable loaded={channel}>{(stored) => <Editor stored={stored} path={path} reload={channel.reload} />}</Loadable>
    </Stack>
  );
}

function Editor({ stored, path, reload }: { stored: StoredChannel; path: string; reload(): void }) {
  const { may } = useSession();
  const writable = may('channels');
  const original = JSON.stringify(stored.definition, null, 2);
  const [text, setText] = useState(original);
  const [issues, setIssues] = useState<readonly ApiIssue[]>([]);
  const [failure, setFailure] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const [busy, setBusy] = useState<'save' | 'deploy'>();
  useEffect(() => setText(original), [original]);
  const changed = text !== original;
  const navigate = useNavigate();
  const id = stored.definition.id;
  const clone = () => {
    const copy = { ...stored.definition, id: `${id}-copy`, name: `${stored.definition.name} (copy)`, enabled: false };
    navigate('/channels/new', { state: { text: JSON.stringify(copy, null, 2), from: `A copy of ${id}.` } });
  };
  const remove = async () => {
    if (!window.confirm(`Delete channel ${id}? Its stored messages stay.`)) return;
    try {
      await del(path);
      navigate('/channels');
    } catch (error) {
      setFailure(error);
    }
  };

  const run = async (what: 'save' | 'deploy', action: () => Promise<string>) => {
    setBusy(what);
    setFailure(undefined);
    setNotice(undefined);
    try {
      setNotice(await action());
      setIssues([]);
      reload();
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) setIssues(error.issues);
      else setFailure(error);
    } finally {
      setBusy(undefined);
    }
  };
  const save = () =>
    run('save', async () => {
      const parsed = parseJson(text);
      if ('error' in parsed) throw new ApiError(400, parsed.error, {});
      const saved = await put<{ revision: number }>(path, parsed.value);
      return `Saved as revision ${saved.revision}. Deploy it to run it.`;
    });
  const deploy = () =>
    run('deploy', async () => {
      const status = await post<{ revision: number; status?: string }>(`${path}/deploy`);
      return `Revision ${status.revision} is deployed.`;
    });

  return (
    <>
      <Group justify="space-between">
        <Group gap="sm">
          <Title order={2}>{stored.definition.name}</Title>
          <Badge color={stateColor[stored.status?.status ?? 'stopped'] ?? 'gray'}>
            {stored.status?.status ?? 'not deployed'}
          </Badge>
        </Group>
        <Text size="sm" c="dimmed">
          Revision {stored.revision}, saved {formatDateTime(stored.savedAt)} by {stored.author}
        </Text>
      </Group>
      {stored.status?.error && <Alert color="red">{stored.status.error}</Alert>}
      {failure !== undefined && <ErrorNote error={failure} title="The action failed" />}
      {notice && (
        <Alert color="teal" variant="light" role="status">
          {notice}
        </Alert>
      )}
      <Tabs defaultValue="definition" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="definition">Definition</Tabs.Tab>
          <Tabs.Tab value="revisions">Revisions</Tabs.Tab>
          {writable && <Tabs.Tab value="test">Test a message</Tabs.Tab>}
        </Tabs.List>
        <Tabs.Panel value="definition" pt="md">
          <Stack>
            <CommonSettings text={text} onChange={setText} readOnly={!writable} />
            <JsonEditor
              label="Channel definition (JSON)"
              value={text}
              onChange={(value) => {
                setText(value);
                setNotice(undefined);
              }}
              issues={issues}
              readOnly={!writable}
            />
            {writable && (
              <Group>
                <Button onClick={save} loading={busy === 'save'} disabled={!changed}>
                  Save
                </Button>
                <Button variant="light" onClick={deploy} loading={busy === 'deploy'} disabled={changed}>
                  Deploy revision {stored.revision}
                </Button>
                <Button variant="subtle" disabled={!changed} onClick={() => setText(original)}>
                  Discard changes
                </Button>
                <Button variant="default" onClick={clone}>
                  Clone
                </Button>
                <Button variant="default" onClick={() => downloadJson(`${id}.json`, text)}>
                  Export
                </Button>
                <Button variant="subtle" color="red" onClick={remove}>
                  Delete
                </Button>
              </Group>
            )}
          </Stack>
        </Tabs.Panel>
        <Tabs.Panel value="revisions" pt="md">
          <Revisions path={path} current={stored} writable={writable} onReverted={reload} />
        </Tabs.Panel>
        <Tabs.Panel value="test" pt="md">
          <DryRun definitionText={text} />
        </Tabs.Panel>
      </Tabs>
    </>
  );
}
