// The facility user's lists: the active one (registered, not yet reported back), their home page, with a change
// and a cancel per exam where the lifecycle allows; and the completed one, with the report's state, its PDF and
// where the report went (per destination, from the message store).
import { priorityColor } from '../../ui/format.ts';
import { Anchor, Badge, Button, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { Link } from 'react-router';
import { get } from '../../api/client.ts';
import { Loadable } from '../../ui/states.tsx';
import { useLoad } from '../../ui/use-load.ts';
import { ExamActions } from './ExamActions.tsx';
import { FacilityPicker, useFacility } from './FacilityPicker.tsx';
import { cancellableStatuses, editableStatuses, procedureOf, type WorkExam } from './work-types.ts';

export function PriorityBadge({ priority }: { priority: string }) {
  return (
    <Badge color={priorityColor[priority] ?? 'gray'} variant="light">
      {priority}
    </Badge>
  );
}

export function ActiveExamsScreen() {
  const [facility, setFacility] = useFacility();
  const list = useLoad(() => get<WorkExam[]>(`/api/facilities/${encodeURIComponent(facility)}/active`), [facility]);
  const [acting, setActing] = useState<{ exam: WorkExam; mode: 'edit' | 'cancel' }>();
  return (
    <Stack>
      <Group justify="space-between" align="flex-end">
        <Title order={2}>Active exams</Title>
        <Group align="flex-end">
          <FacilityPicker value={facility} onChange={setFacility} />
          <Button component={Link} to={`/work/register?facility=${encodeURIComponent(facility)}`}>
            Register an exam
          </Button>
        </Group>
      </Group>
      {acting && (
        <ExamActions
          {...acting}
          onClose={() => setActing(undefined)}
          onDone={() => {
            setActing(undefined);
            list.reload();
          }}
        />
      )}
      <Loadable loaded={list} isEmpty={(l) => l.length === 0} empty="No exam is waiting for a report.">
        {(exams) => (
          <Table striped highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Exam number</Table.Th>
                <Table.Th>Procedure</Table.Th>
                <Table.Th>Modality</Table.Th>
                <Table.Th>Priority</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Registered</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {exams.map((exam) => (
                <Table.Tr key={exam.examNumber} data-testid={`active-${exam.examNumber}`}>
                  <Table.Td ff="monospace">{exam.examNumber}</Table.Td>
                  <Table.Td>{procedureOf(exam)}</Table.Td>
                  <Table.Td>{exam.modality ?? '–'}</Table.Td>
                  <Table.Td>
                    <PriorityBadge priority={exam.priority} />
                  </Table.Td>
                  <Table.Td>{exam.status}</Table.Td>
                  <Table.Td>{new Date(exam.createdAt).toLocaleString()}</Table.Td>
                  <Table.Td>
                    <Group gap="xs" justify="flex-end" wrap="nowrap">
                      {editableStatuses.includes(exam.status) && (
                        <Button size="xs" variant="default" onClick={() => setActing({ exam, mode: 'edit' })}>
                          Change
                        </Button>
                      )}
                      {cancellableStatuses.includes(exam.status) && (
                        <Button
                          size="xs"
                          variant="subtle"
                          color="red"
                          onClick={() => setActing({ exam, mode: 'cancel' })}
                        >
                          Cancel
                        </Button>
                      )}
                    </Group>
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

const deliveryColor: Record<string, string> = { sent: 'teal', queued: 'yellow', error: 'red' };

export function CompletedExamsScreen() {
  const [facility, setFacility] = useFacility();
  const list = useLoad(() => get<WorkExam[]>(`/api/facilities/${encodeURIComponent(facility)}/completed`), [facility]);
  return (
    <Stack>
      <Group justify="space-between" align="flex-end">
        <Title order={2}>Completed exams</Title>
        <FacilityPicker value={facility} onChange={setFacility} />
      </Group>
      <Loadable loaded={list} isEmpty={(l) => l.length === 0} empty="No report has come back yet.">
        {(exams) => (
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Exam number</Table.Th>
                <Table.Th>Procedure</Table.Th>
                <Table.Th>Report</Table.Th>
                <Table.Th>Delivered to</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {exams.map((exam) => {
                const report = exam.reports.filter((r) => !['cancelled', 'entered-in-error'].includes(r.status)).at(-1);
                return (
                  <Table.Tr key={exam.examNumber} data-testid={`completed-${exam.examNumber}`}>
                    <Table.Td ff="monospace">{exam.examNumber}</Table.Td>
                    <Table.Td>{procedureOf(exam)}</Table.Td>
                    <Table.Td>
                      <Group gap="xs">
                        <Badge variant="light">{exam.reportState ?? exam.status}</Badge>
                        {report && (
                          <Anchor href={`/api/reports/${encodeURIComponent(report.id)}/document`} target="_blank">
                            {/* The PDF, or the scan as uploaded (TIFF, JPEG), so not called "PDF". */}
                            Open report
                          </Anchor>
                        )}
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      {(exam.reportDeliveries ?? []).length === 0 ? (
                        <Text size="sm" c="dimmed">
                          not sent anywhere
                        </Text>
                      ) : (
                        <Group gap={4}>
                          {exam.reportDeliveries?.map((d) => (
                            <Badge
                              key={`${d.channelId}/${d.destination}`}
                              color={deliveryColor[d.state] ?? 'gray'}
                              variant="light"
                              title={d.lastError}
                            >
                              {d.destination}: {d.state}
                            </Badge>
                          ))}
                        </Group>
                      )}
                    </Table.Td>
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
