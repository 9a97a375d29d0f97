// Every destination queue: depth, whether it runs, its oldest item and next retry; pause, resume, retry now and give
// up (with a reason, for the audit log) for those who may act on queues. Refreshes every five seconds.
import { Badge, Button, Group, Modal, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useState } from 'react';
import { get, post } from '../api/client.ts';
import type { ChannelOverview, QueueStatus } from '../api/types.ts';
import { useSession } from '../session.tsx';
import { formatAge, formatCount, formatDateTime } from '../ui/format.ts';
import { ErrorNote, Loadable } from '../ui/states.tsx';
import { useLoad } from '../ui/use-load.ts';

interface QueueRow extends QueueStatus {
  channelId: string;
  channelName: string;
}

async function loadQueues(): Promise<QueueRow[]> {
  const channels = await get<ChannelOverview[]>('/api/channels');
  return channels.flatMap((c) => c.queues.map((q) => ({ ...q, channelId: c.id, channelName: c.name })));
}

export function QueuesScreen() {
  const { may } = useSession();
  const queues = useLoad(loadQueues, [], 5_000);
  const [busy, setBusy] = useState<string>();
  const [failure, setFailure] = useState<unknown>();

  const [givingUp, setGivingUp] = useState<QueueRow>();
  const [reason, setReason] = useState('');

  const act = async (row: QueueRow, action: 'pause' | 'resume' | 'retry-now' | 'give-up', body?: unknown) => {
    const key = `${row.channelId}/${row.destination}`;
    setBusy(key);
    setFailure(undefined);
    try {
      const channel = encodeURIComponent(row.channelId);
      const name = encodeURIComponent(row.destination);
      if (action === 'pause' || action === 'resume') {
        await post(`/api/channels/${channel}/destinations/${name}/${action}`, body);
      } else {
        // Retry now and give up act on one queued message: the head, the one the queue is waiting on.
        const [head] = await get<Array<{ messageId: string }>>(`/api/queues/${channel}/${name}/messages?limit=1`);
        if (head === undefined) throw new Error('the queue is empty now');
        const verb = action === 'retry-now' ? 'retry' : 'give-up';
        await post(`/api/queues/${channel}/${name}/messages/${encodeURIComponent(head.messageId)}/${verb}`, body);
      }
      queues.reload();
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <Stack>
      <Title order={2}>Queues</Title>
      {failure !== undefined && <ErrorNote error={failure} title="The action failed" />}
      <Modal
        opened={givingUp !== undefined}
        onClose={() => setGivingUp(undefined)}
        title="Give up the head of the queue"
      >
        <form
          onSubmit={(event) => {
            event.preventDefault();
            if (givingUp) void act(givingUp, 'give-up', { reason });
            setGivingUp(undefined);
          }}
        >
          <Stack>
            <Text size="sm">
              The first queued message for {givingUp?.destination} is marked as failed and not sent; the reason goes
              into the audit log.
            </Text>
            <TextInput
              label="Reason"
              required
              value={reason}
              onChange={(e) => setReason(e.currentTarget.value)}
              data-autofocus
            />
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setGivingUp(undefined)}>
                Cancel
              </Button>
              <Button type="submit" color="red">
                Give up
              </Button>
            </Group>
          </Stack>
        </form>
      </Modal>
      <Loadable loaded={queues} isEmpty={(rows) => rows.length === 0} empty="No deployed channel has a destination.">
        {(rows) => (
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Channel</Table.Th>
                <Table.Th>Destination</Table.Th>
                <Table.Th ta="right">Depth</Table.Th>
                <Table.Th>State</Table.Th>
                <Table.Th>Oldest queued</Table.Th>
                <Table.Th>Next retry</Table.Th>
                {may('queues') && <Table.Th>Actions</Table.Th>}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((row) => {
                const key = `${row.channelId}/${row.destination}`;
                return (
                  <Table.Tr key={key} data-testid={`queue-${key}`}>
                    <Table.Td>{row.channelName}</Table.Td>
                    <Table.Td>{row.destination}</Table.Td>
                    <Table.Td ta="right">{formatCount(row.depth)}</Table.Td>
                    <Table.Td>
                      <Badge color={row.paused ? 'orange' : 'teal'} variant="light" data-testid="queue-state">
                        {row.paused ? 'paused' : (row.state ?? 'running')}
                      </Badge>
                    </Table.Td>
                    <Table.Td>{formatAge(row.oldestQueuedAt)}</Table.Td>
                    <Table.Td>{row.nextAttemptAt ? formatDateTime(row.nextAttemptAt) : '–'}</Table.Td>
                    {may('queues') && (
                      <Table.Td>
                        <Group gap="xs" wrap="nowrap">
                          {row.paused ? (
                            <Button size="xs" loading={busy === key} onClick={() => act(row, 'resume')}>
                              Resume {row.destination}
                            </Button>
                          ) : (
                            <Button
                              size="xs"
                              variant="default"
                              loading={busy === key}
                              onClick={() => act(row, 'pause')}
                            >
                              Pause {row.destination}
                            </Button>
                          )}
                          <Button
                            size="xs"
                            variant="default"
                            disabled={row.depth === 0 || busy === key}
                            onClick={() => act(row, 'retry-now')}
                          >
                            Retry now
                          </Button>
                          <Button
                            size="xs"
                            variant="subtle"
                            color="red"
                            disabled={row.depth === 0 || busy === key}
                            onClick={() => {
                              setReason('');
                              setGivingUp(row);
                            }}
                          >
                            Give up
                          </Button>
                        </Group>
                      </Table.Td>
                    )}
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        )}
      </Loadable>
    </Stack>
  );
}
