// Every channel with its deployed state and counts; deploy and undeploy for those who may change channels.
import { Badge, Button, FileButton, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { get, post } from '../api/client.ts';
import type { ChannelOverview } from '../api/types.ts';
import { useSession } from '../session.tsx';
import { formatCount, formatDateTime, stateColor } from '../ui/format.ts';
import { ErrorNote, Loadable } from '../ui/states.tsx';
import { useLoad } from '../ui/use-load.ts';

export function ChannelsScreen() {
  const { may } = useSession();
  const channels = useLoad(() => get<ChannelOverview[]>('/api/channels'), []);
  const [busy, setBusy] = useState<string>();
  const [failure, setFailure] = useState<unknown>();
  const navigate = useNavigate();
  const importFile = async (file: File | null) => {
    if (!file) return;
    navigate('/channels/new', { state: { text: await file.text(), from: `Imported from ${file.name}.` } });
  };

  const act = async (channel: ChannelOverview, action: 'deploy' | 'undeploy') => {
    setBusy(channel.id);
    setFailure(undefined);
    try {
      await post(`/api/channels/${encodeURIComponent(channel.id)}/${action}`);
      channels.reload();
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Channels</Title>
        {may('channels') && (
          <Group gap="xs">
            <FileButton onChange={importFile} accept="application/json,.json">
              {(props) => (
                <Button variant="default" {...props}>
                  Import JSON file
                </Button>
              )}
            </FileButton>
            <Button component={Link} to="/channels/new">
              New channel
            </Button>
          </Group>
        )}
      </Group>
      {failure !== undefined && <ErrorNote error={failure} title="The action failed" />}
      <Loadable loaded={channels} isEmpty={(list) => list.length === 0} empty="No channel is deployed.">
        {(list) => (
          <Table striped highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Channel</Table.Th>
                <Table.Th>State</Table.Th>
                <Table.Th ta="right">Revision</Table.Th>
                <Table.Th ta="right">Received</Table.Th>
                <Table.Th ta="right">Errors</Table.Th>
                <Table.Th>Deployed</Table.Th>
                {may('channels') && <Table.Th>Actions</Table.Th>}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.map((channel) => (
                <Table.Tr key={channel.id} data-testid={`channel-row-${channel.id}`}>
                  <Table.Td>
                    <Text component={Link} to={`/channels/${encodeURIComponent(channel.id)}`} fw={600}>
                      {channel.name}
                    </Text>
                    <Text size="xs" c="dimmed">
                      {channel.id}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Badge color={stateColor[channel.status] ?? 'gray'}>{channel.status}</Badge>
                    {channel.error && (
                      <Text size="xs" c="red">
                        {channel.error}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td ta="right">{channel.revision}</Table.Td>
                  <Table.Td ta="right">{formatCount(channel.received)}</Table.Td>
                  <Table.Td ta="right" c={channel.errors > 0 ? 'red' : undefined}>
                    {formatCount(channel.errors)}
                  </Table.Td>
                  <Table.Td>{formatDateTime(channel.deployedAt)}</Table.Td>
                  {may('channels') && (
                    <Table.Td>
                      <Group gap="xs" wrap="nowrap">
                        <Button
                          size="xs"
                          variant="light"
                          loading={busy === channel.id}
                          onClick={() => act(channel, 'deploy')}
                        >
                          {channel.status === 'deployed' ? 'Redeploy' : 'Deploy'}
                        </Button>
                        <Button
                          size="xs"
                          variant="default"
                          disabled={channel.status !== 'deployed' || busy === channel.id}
                          onClick={() => act(channel, 'undeploy')}
                        >
                          Undeploy
                        </Button>
                      </Group>
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Loadable>
    </Stack>
  );
}
