// A channel's revisions, newest first; choosing one shows it beside the active revision, and revert makes it the
// active definition again (as a new revision, so the history only grows).
import { Button, Group, Stack, Table, Text } from '@mantine/core';
import { useState } from 'react';
import { get, post } from '../api/client.ts';
import type { ChannelDefinitionJson, Revision, StoredChannel } from '../api/types.ts';
import { formatDateTime } from '../ui/format.ts';
import { SideBySideDiff } from '../ui/SideBySideDiff.tsx';
import { ErrorNote, Loadable, Loading } from '../ui/states.tsx';
import { useLoad } from '../ui/use-load.ts';

interface RevisionContent {
  revision: number;
  definition?: ChannelDefinitionJson;
  json?: string;
}

function textOf(content: RevisionContent): string {
  const definition = content.definition ?? (content.json ? (JSON.parse(content.json) as unknown) : {});
  return JSON.stringify(definition, null, 2);
}

interface RevisionsProps {
  path: string;
  current: StoredChannel;
  writable: boolean;
  onReverted(): void;
}

export function Revisions({ path, current, writable, onReverted }: RevisionsProps) {
  const revisions = useLoad(() => get<Revision[]>(`${path}/revisions`), [path, current.revision]);
  const [chosen, setChosen] = useState<number>();
  const content = useLoad(
    () => (chosen === undefined ? Promise.resolve(undefined) : get<RevisionContent>(`${path}/revisions/${chosen}`)),
    [path, chosen],
  );
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const revert = async (revision: number) => {
    setBusy(true);
    setFailure(undefined);
    try {
      await post(`${path}/revert`, { revision });
      setChosen(undefined);
      onReverted();
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Stack>
      {failure !== undefined && <ErrorNote error={failure} title="Revert failed" />}
      <Loadable loaded={revisions} isEmpty={(list) => list.length === 0} empty="No revisions stored.">
        {(list) => (
          <Table highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Revision</Table.Th>
                <Table.Th>Saved</Table.Th>
                <Table.Th>By</Table.Th>
                <Table.Th>Compare</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {[...list]
                .sort((a, b) => b.revision - a.revision)
                .map((r) => (
                  <Table.Tr key={r.revision} bg={r.revision === chosen ? 'indigo.0' : undefined}>
                    <Table.Td>
                      {r.revision}
                      {r.revision === current.revision && (
                        <Text span size="xs" c="dimmed">
                          {' '}
                          (active)
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>{formatDateTime(r.savedAt)}</Table.Td>
                    <Table.Td>{r.author}</Table.Td>
                    <Table.Td>
                      {r.revision !== current.revision && (
                        <Button size="xs" variant="default" onClick={() => setChosen(r.revision)}>
                          Compare with active
                        </Button>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
            </Table.Tbody>
          </Table>
        )}
      </Loadable>
      {chosen !== undefined && content.error !== undefined && (
        <ErrorNote error={content.error} onRetry={content.reload} />
      )}
      {chosen !== undefined && content.data === undefined && content.error === undefined && <Loading />}
      {chosen !== undefined && content.data !== undefined && (
        <Stack>
          <Group justify="space-between">
            <Text fw={600}>
              Revision {chosen} beside the active revision {current.revision}
            </Text>
            {writable && (
              <Button color="orange" loading={busy} onClick={() => revert(chosen)}>
                Revert to revision {chosen}
              </Button>
            )}
          </Group>
          <SideBySideDiff
            before={textOf(content.data)}
            after={JSON.stringify(current.definition, null, 2)}
            labels={[`Revision ${chosen}`, `Revision ${current.revision} (active)`]}
          />
        </Stack>
      )}
    </Stack>
  );
}
