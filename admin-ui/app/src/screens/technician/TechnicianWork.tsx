// The technician's home: the active exams of their facilities, most urgent first. Claiming one makes the
// technician responsible and acknowledges it (dispatch stops escalating); the exam number to put in PatientID is
// shown large, and images go up from the browser beside it.
import { Badge, Button, Group, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { get, messageOf, post } from '../../api/client.ts';
import { useSession } from '../../session.tsx';
import { Loadable } from '../../ui/states.tsx';
import { useLoad } from '../../ui/use-load.ts';
import { PriorityBadge } from '../facility/FacilityLists.tsx';
import { procedureOf, type WorkExam } from '../facility/work-types.ts';
import { UploadImages } from './UploadImages.tsx';

export function TechnicianWorkScreen() {
  const { user } = useSession();
  const list = useLoad(() => get<WorkExam[]>('/api/technician/active'), []);
  const [open, setOpen] = useState<string>();
  const [failure, setFailure] = useState<string>();
  const claim = async (exam: WorkExam) => {
    setFailure(undefined);
    try {
      await post(`/api/exams/${exam.examNumber}/claim`);
      setOpen(exam.examNumber);
      list.reload();
    } catch (error) {
      setFailure(messageOf(error));
    }
  };

  return (
    <Stack>
      <Title order={2}>My work</Title>
      {failure && (
        <Text c="red" role="alert">
          {failure}
        </Text>
      )}
      <Loadable loaded={list} isEmpty={(l) => l.length === 0} empty="Nothing to do at your facilities.">
        {(exams) => (
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Exam number (PatientID)</Table.Th>
                <Table.Th>Facility</Table.Th>
                <Table.Th>Procedure</Table.Th>
                <Table.Th>Priority</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Technician</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {exams.flatMap((exam) => {
                const mine = exam.technicianId === user?.username && exam.acknowledgedAt !== undefined;
                const row = (
                  <Table.Tr key={exam.examNumber} data-testid={`work-${exam.examNumber}`}>
                    <Table.Td ff="monospace" fw={700} fz="lg">
                      {exam.examNumber}
                    </Table.Td>
                    <Table.Td>{exam.facility}</Table.Td>
                    <Table.Td>
                      {procedureOf(exam)} {exam.modality && <Badge variant="outline">{exam.modality}</Badge>}
                    </Table.Td>
                    <Table.Td>
                      <PriorityBadge priority={exam.priority} />
                    </Table.Td>
                    <Table.Td>
                      {exam.status}
                      {exam.studies.length > 0 && (
                        <Text size="xs" c="dimmed">
                          {exam.studies.reduce((n, s) => n + (s.instanceCount ?? 0), 0)} images
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>{exam.technicianId ?? '–'}</Table.Td>
                    <Table.Td>
                      <Group gap="xs" justify="flex-end" wrap="nowrap">
                        {!mine && (
                          <Button size="xs" onClick={() => claim(exam)}>
                            Claim
                          </Button>
                        )}
                        <Button
                          size="xs"
                          variant="default"
                          onClick={() => setOpen(open === exam.examNumber ? undefined : exam.examNumber)}
                        >
                          Upload images
                        </Button>
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                );
                if (open !== exam.examNumber) return [row];
                return [
                  row,
                  <Table.Tr key={`${exam.examNumber}-upload`}>
                    <Table.Td colSpan={7}>
                      <Paper withBorder p="sm">
                        <UploadImages facility={exam.facility} examNumber={exam.examNumber} onFinished={list.reload} />
                      </Paper>
                    </Table.Td>
                  </Table.Tr>,
                ];
              })}
            </Table.Tbody>
          </Table>
        )}
      </Loadable>
    </Stack>
  );
}
