// The transcriber's queue: exams a radiologist dictated, oldest first. Opening one leads to the report form,
// where the typed draft is handed back to the radiologist for signature.
import { Alert, Anchor, Badge, Stack, Table, Text, Title } from '@mantine/core';
import { Link, useLocation } from 'react-router';
import { get } from '../../api/client.ts';
import { formatAge } from '../../ui/format.ts';
import { Loadable } from '../../ui/states.tsx';
import { useLoad } from '../../ui/use-load.ts';
import type { ReadingLine } from './types.ts';
import { priorityColor } from '../../ui/format.ts';

export function TranscriptionQueueScreen() {
  const queue = useLoad(() => get<ReadingLine[]>('/api/transcription/queue'), [], 15_000);
  const handedOver = (useLocation().state as { handedOver?: string } | null)?.handedOver;
  return (
    <Stack>
      <Title order={2}>Transcription</Title>
      {handedOver && (
        <Alert color="teal" variant="light" role="status">
          Exam {handedOver} is with its radiologist for signature.
        </Alert>
      )}
      <Text size="sm" c="dimmed">
        Dictated exams waiting to be typed, oldest first. Hand each report to its radiologist for signature.
      </Text>
      <Loadable loaded={queue} isEmpty={(rows) => rows.length === 0} empty="No dictation is waiting.">
        {(rows) => (
          <Table striped highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Priority</Table.Th>
                <Table.Th>Exam</Table.Th>
                <Table.Th>Patient</Table.Th>
                <Table.Th>Procedure</Table.Th>
                <Table.Th>Dictated by</Table.Th>
                <Table.Th>Waiting</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((row) => (
                <Table.Tr key={row.examNumber} data-testid={`dictation-row-${row.examNumber}`}>
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
                    <Anchor component={Link} to={`/transcription/${encodeURIComponent(row.examNumber)}`}>
                      {row.examNumber}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{row.patientName || '(no name)'}</Table.Td>
                  <Table.Td>{row.procedure}</Table.Td>
                  <Table.Td>{row.radiologist}</Table.Td>
                  <Table.Td>{formatAge(row.markedAt)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Loadable>
    </Stack>
  );
}
