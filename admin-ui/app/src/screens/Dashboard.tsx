// What runs and how it is doing, refreshed every five seconds without reloading: one card per channel with its
// state and counts, the messages-per-minute chart, every destination queue's depth and oldest item, and the DICOM
// listener (DicomPanel.tsx).
import { Badge, Card, Group, Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useEffect, useMemo, useState } from 'react';
import { Link } from 'react-router';
import { get } from '../api/client.ts';
import type { ChannelOverview } from '../api/types.ts';
import { formatAge, formatCount, stateColor } from '../ui/format.ts';
import { Loadable } from '../ui/states.tsx';
import { ThroughputChart } from '../ui/ThroughputChart.tsx';
import { useLoad } from '../ui/use-load.ts';
import { DicomPanel } from './DicomPanel.tsx';
import { ThroughputSeries } from './throughput.ts';

const pollMs = 5_000;

export function Dashboard() {
  const channels = useLoad(() => get<ChannelOverview[]>('/api/channels'), [], pollMs);
  const series = useMemo(() => new ThroughputSeries(), []);
  const [ready, setReady] = useState(false);
  const [throughput, setThroughput] = useState(() => series.series());

  useEffect(() => {
    series.backfill().finally(() => setReady(true));
  }, [series]);
  useEffect(() => {
    if (!ready || !channels.data) return;
    series.observe(channels.data);
    setThroughput(series.series());
  }, [ready, channels.data, series]);

  return (
    <Stack>
      <Title order={2}>Dashboard</Title>
      <Loadable loaded={channels} isEmpty={(list) => list.length === 0} empty="No channel is deployed.">
        {(list) => (
          <>
            <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
              {list.map((channel) => (
                <ChannelCard key={channel.id} channel={channel} />
              ))}
            </SimpleGrid>
            <Paper withBorder p="md">
              <Text fw={600} mb="xs">
                Messages per minute, last 30 minutes
              </Text>
              <ThroughputChart data={throughput} label="Messages received per minute over the last 30 minutes" />
            </Paper>
            <QueueTable channels={list} />
          </>
        )}
      </Loadable>
      <DicomPanel everyMs={pollMs} />
    </Stack>
  );
}

function ChannelCard({ channel }: { channel: ChannelOverview }) {
  const queued = channel.queued ?? channel.queues.reduce((sum, q) => sum + q.depth, 0);
  const counts: Array<[string, number | undefined, string?]> = [
    ['received', channel.received],
    ['filtered', channel.filtered],
    ['errored', channel.errors, channel.errors > 0 ? 'red' : undefined],
    ['queued', queued, queued > 0 ? 'orange' : undefined],
  ];
  return (
    <Card withBorder padding="md" data-testid={`channel-card-${channel.id}`}>
      <Group justify="space-between" wrap="nowrap" mb="sm">
        <Text fw={600} component={Link} to={`/channels/${encodeURIComponent(channel.id)}`} truncate>
          {channel.name}
        </Text>
        <Badge color={stateColor[channel.status] ?? 'gray'}>{channel.status}</Badge>
      </Group>
      <SimpleGrid cols={4} spacing="xs">
        {counts.map(([label, value, color]) => (
          <div key={label}>
            <Text size="xl" fw={700} c={color} data-testid={`count-${label}`}>
              {formatCount(value)}
            </Text>
            <Text size="xs" c="dimmed">
              {label}
            </Text>
          </div>
        ))}
      </SimpleGrid>
      {channel.error && (
        <Text size="sm" c="red" mt="sm">
          {channel.error}
        </Text>
      )}
    </Card>
  );
}

function QueueTable({ channels }: { channels: ChannelOverview[] }) {
  const rows = channels.flatMap((c) => c.queues.map((q) => ({ channel: c, queue: q })));
  if (rows.length === 0) return null;
  return (
    <Paper withBorder p="md">
      <Text fw={600} mb="xs">
        Destination queues
      </Text>
      <Table striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Channel</Table.Th>
            <Table.Th>Destination</Table.Th>
            <Table.Th ta="right">Depth</Table.Th>
            <Table.Th>Oldest queued</Table.Th>
            <Table.Th>State</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map(({ channel, queue }) => (
            <Table.Tr key={`${channel.id}/${queue.destination}`}>
              <Table.Td>{channel.name}</Table.Td>
              <Table.Td>{queue.destination}</Table.Td>
              <Table.Td ta="right">{formatCount(queue.depth)}</Table.Td>
              <Table.Td>{formatAge(queue.oldestQueuedAt)}</Table.Td>
              <Table.Td>
                <Badge color={queue.paused ? 'orange' : 'teal'} variant="light">
                  {queue.paused ? 'paused' : 'running'}
                </Badge>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Paper>
  );
}
