// The radiologist's reading list: complete studies without a final report at the facilities they read for, STAT
// first, each with how long it has waited since its study was complete and whether a transcriber's draft waits
// for signature. Refreshes every 15 seconds, so a newly complete study or a handed-over draft shows up.
import { Anchor, Badge, Group, Stack, Table, Text, Title } from '@mantine/core';
import { Link } from 'react-router';
import { get } from '../../api/client.ts';
import { formatAge } from '../../ui/format.ts';
import { Loadable } from '../../ui/states.tsx';
import { useLoad } from '../../ui/use-load.ts';
import { type ReadingLine, reportColor } from './types.ts';
import { priorityColor } from '../../ui/format.ts';

export function ReportBadges({ line }: { line: ReadingLine }) {
  return (
    <Group gap={4}>
      {line.report ? (
        <Badge variant="light" color={reportColor[line.report.state] ?? 'gray'}>
          {line.report.state}
        </Badge>
      ) : (
        <Text size="sm" c="dimmed">
          not started
        </Text>
      )}
      {line.dictation?.state === 'transcribed' && (
        <Badge variant="filled" color="blue" data-testid="transcribed">
          transcribed by {line.dictation.transcriber}
        </Badge>
      )}
      {line.dictation?.state === 'waiting' && (
        <Badge variant="outline" color="blue">
          dictated, being typed
        </Badge>
      )}
    </Group>
  );
}

export function ReadingListScreen() {
  const list = useLoad(() => get<ReadingLine[]>('/api/reading/list'), [], 15_000);
  return (
    <Stack>
      <Title order={2}>Reading list</Title>
      <Text size="sm" c="dimmed">
        Complete studies without a final report, most urgent first, then the longest waiting.
      </Text>
      <Loadable loaded={list} isEmpty={(rows) => rows.length === 0} empty="Nothing to read right now.">
        {(rows) => (
          <Table striped highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Priority</Table.Th>
                <Table.Th>Exam</Table.Th>
                <Table.Th>Patient</Table.Th>
                <Table.Th>Procedure</Table.Th>
                <Table.Th>Facility</Table.Th>
                <Table.Th>Waiting</Table.Th>
                <Table.Th>Report</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((row) => (
                <Table.Tr key={row.examNumber} data-testid={`reading-row-${row.examNumber}`}>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>
                    <Badge
                      miw={90}
                      styles={{ label: { overflow: 'visible' } }}
                      color={priorityColor[row.priority] ?? 'gray'}
                      variant="filled"
                    >
                      {row.priority.toUpperCase()}
                    </Badge>
                  </Table.Td>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>
                    <Anchor component={Link} to={`/reading/${encodeURIComponent(row.examNumber)}`}>
                      {row.examNumber}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    {row.patientName || '(no name)'}
                    {row.birthDate && (
                      <Text size="xs" c="dimmed">
                        born {row.birthDate}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    {row.modality && (
                      <Badge variant="outline" mr={6}>
                        {row.modality}
                      </Badge>
                    )}
                    {row.procedure}
                  </Table.Td>
                  <Table.Td>{row.facility}</Table.Td>
                  <Table.Td data-testid="waiting">{row.readySince ? formatAge(row.readySince) : '–'}</Table.Td>
                  <Table.Td>
                    <ReportBadges line={row} />
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Loadable>
    </Stack>
  );
}
