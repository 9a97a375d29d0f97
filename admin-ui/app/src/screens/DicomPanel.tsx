// The DICOM listener on the dashboard, polled like the channel cards: who is connected now and what each calling
// AE sent today, the studies still inside their quiet period (not complete yet), and the studies completed in the
// last hour with a progress bar per destination (instances stored there of the study's instances).
import { Badge, Group, Paper, Progress, SimpleGrid, Stack, Table, Text } from '@mantine/core';
import { get } from '../api/client.ts';
import type { DicomPanelAnswer } from '../api/types.ts';
import { formatAge, formatCount, formatDateTime } from '../ui/format.ts';
import { useLoad } from '../ui/use-load.ts';

type Panel = Extract<DicomPanelAnswer, { enabled: true }>;

export function DicomPanel({ everyMs }: { everyMs: number }) {
  const panel = useLoad(() => get<DicomPanelAnswer>('/api/dashboard/dicom'), [], everyMs);
  const data = panel.data;
  if (!data?.enabled) return null;
  return (
    <Paper withBorder p="md" data-testid="dicom-panel">
      <Text fw={600} mb="xs">
        DICOM listener
      </Text>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Associations panel={data} />
        <Today panel={data} />
      </SimpleGrid>
      <Studies panel={data} />
    </Paper>
  );
}

function Associations({ panel }: { panel: Panel }) {
  return (
    <Stack gap={4}>
      <Text size="sm" c="dimmed">
        Open associations
      </Text>
      {panel.open.length === 0 ? (
        <Text size="sm">None open.</Text>
      ) : (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Calling AE</Table.Th>
              <Table.Th>Open for</Table.Th>
              <Table.Th ta="right">Instances</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {panel.open.map((a) => (
              <Table.Tr key={`${a.callingAe}-${a.openedAt}`} data-testid="dicom-association">
                <Table.Td>{a.callingAe}</Table.Td>
                <Table.Td>{formatAge(a.openedAt)}</Table.Td>
                <Table.Td ta="right">{formatCount(a.instances)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

function Today({ panel }: { panel: Panel }) {
  return (
    <Stack gap={4}>
      <Text size="sm" c="dimmed">
        Today (UTC), per calling AE
      </Text>
      {panel.today.length === 0 ? (
        <Text size="sm">Nothing received today.</Text>
      ) : (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Calling AE</Table.Th>
              <Table.Th ta="right">Associations</Table.Th>
              <Table.Th ta="right">Instances</Table.Th>
              <Table.Th>Last</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {panel.today.map((t) => (
              <Table.Tr key={t.callingAe} data-testid={`dicom-today-${t.callingAe}`}>
                <Table.Td>{t.callingAe}</Table.Td>
                <Table.Td ta="right">{formatCount(t.associations)}</Table.Td>
                <Table.Td ta="right" data-testid="instances">
                  {formatCount(t.instances)}
                </Table.Td>
                <Table.Td>{formatDateTime(t.lastAt)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

function Studies({ panel }: { panel: Panel }) {
  if (panel.waitingForCompletion.length === 0 && panel.delivery.length === 0) {
    return (
      <Text size="sm" mt="sm">
        No study is waiting for completion or delivery.
      </Text>
    );
  }
  return (
    <Stack gap="xs" mt="md">
      <Text size="sm" c="dimmed">
        Studies waiting for completion or delivery
      </Text>
      {panel.waitingForCompletion.map((s) => (
        <Group key={s.studyInstanceUid} justify="space-between" data-testid="dicom-study-waiting">
          <Text size="sm">
            {s.examNumber ?? s.studyInstanceUid} · {s.facility} · {formatCount(s.instanceCount)} instances
          </Text>
          <Badge color="blue" variant="light" tt="none">
            receiving, complete after {formatDateTime(s.completeDueAt)}
          </Badge>
        </Group>
      ))}
      {panel.delivery.map((s) => (
        <Stack key={s.studyInstanceUid} gap={2} data-testid="dicom-study-delivery">
          <Text size="sm">
            {s.examNumber ?? s.studyInstanceUid} · {s.facility} · {formatCount(s.instanceCount)} instances
          </Text>
          {s.destinations.length === 0 && (
            <Text size="xs" c="dimmed">
              Complete; queued for delivery.
            </Text>
          )}
          {s.destinations.map((d) => (
            <Group key={d.destination} gap="sm" wrap="nowrap">
              <Text size="xs" w={240} truncate title={d.destination}>
                {d.destination}
              </Text>
              <Progress
                flex={1}
                value={s.instanceCount === 0 ? 100 : (100 * d.stored) / s.instanceCount}
                color={d.failed > 0 ? 'red' : d.stored >= s.instanceCount ? 'teal' : 'blue'}
                aria-label={`${d.destination}: ${d.stored} of ${s.instanceCount} instances stored`}
              />
              <Text size="xs" w={110} ta="right">
                {d.stored} / {s.instanceCount}
                {d.failed > 0 ? `, ${d.failed} failed` : ''}
              </Text>
            </Group>
          ))}
        </Stack>
      ))}
    </Stack>
  );
}
