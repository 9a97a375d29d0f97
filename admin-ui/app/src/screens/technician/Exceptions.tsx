// The exception list: reactivated exams, studies that matched no order, reports for orders the hub did not know.
// A technician attaches the study to the exam it belongs to, merges the patient the images made into that exam's
// patient, or dismisses the entry with a reason; the hub audits each.
import { Alert, Badge, Button, Group, Modal, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useState } from 'react';
import { ApiError, get, messageOf, post } from '../../api/client.ts';
import { Loadable } from '../../ui/states.tsx';
import { useLoad } from '../../ui/use-load.ts';
import { procedureOf, type WorkExam } from '../facility/work-types.ts';

type Action = 'attach' | 'merge' | 'dismiss';

function imageCount(exam: WorkExam): string {
  const count = exam.studies.reduce((n, s) => n + (s.instanceCount ?? 0), 0);
  return count === 1 ? '1 image' : `${count} images`;
}

const titles: Record<Action, string> = {
  attach: 'Attach the study to an exam',
  merge: "Merge the patient into an exam's patient",
  dismiss: 'Dismiss with a reason',
};

function ActionDialog({
  exam,
  action,
  onClose,
  onDone,
}: {
  exam: WorkExam;
  action: Action;
  onClose(): void;
  onDone(): void;
}) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>();
  const submit = async () => {
    setError(undefined);
    try {
      const body = action === 'dismiss' ? { reason: value } : { examNumber: value };
      await post(`/api/exceptions/${exam.examNumber}/${action}`, body);
      onDone();
    } catch (failure) {
      setError(failure);
    }
  };
  const at = action === 'dismiss' ? 'reason' : 'examNumber';
  const fieldError = error instanceof ApiError && error.path === at ? error.message : undefined;
  return (
    <Modal opened onClose={onClose} title={`${titles[action]} (${exam.examNumber})`}>
      <Stack>
        <TextInput
          label={action === 'dismiss' ? 'Reason' : 'Exam number it belongs to'}
          required
          value={value}
          onChange={(e) => setValue(e.currentTarget.value)}
          error={fieldError}
        />
        {error !== undefined && fieldError === undefined && (
          <Alert color="red" variant="light" role="alert">
            {messageOf(error)}
          </Alert>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Close
          </Button>
          <Button onClick={submit} color={action === 'dismiss' ? 'red' : undefined}>
            {action === 'attach' ? 'Attach' : action === 'merge' ? 'Merge' : 'Dismiss'}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

export function ExceptionsScreen() {
  const list = useLoad(() => get<WorkExam[]>('/api/exceptions'), []);
  const [acting, setActing] = useState<{ exam: WorkExam; action: Action }>();
  return (
    <Stack>
      <Title order={2}>Exception list</Title>
      {acting && (
        <ActionDialog
          {...acting}
          onClose={() => setActing(undefined)}
          onDone={() => {
            setActing(undefined);
            list.reload();
          }}
        />
      )}
      <Loadable loaded={list} isEmpty={(l) => l.length === 0} empty="No exception to look at.">
        {(exams) => (
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Exam number</Table.Th>
                <Table.Th>Facility</Table.Th>
                <Table.Th>Why it is here</Table.Th>
                <Table.Th>Study</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {exams.map((exam) => (
                <Table.Tr key={exam.examNumber} data-testid={`exception-${exam.examNumber}`}>
                  <Table.Td ff="monospace" style={{ whiteSpace: 'nowrap' }}>
                    {exam.examNumber}
                  </Table.Td>
                  <Table.Td>{exam.facility}</Table.Td>
                  <Table.Td>
                    {exam.status === 'reactivated' ? (
                      <Badge color="orange" variant="light">
                        reactivated
                      </Badge>
                    ) : (
                      <Text size="sm">{exam.exception?.reason}</Text>
                    )}
                    <Text size="xs" c="dimmed">
                      {procedureOf(exam)}
                    </Text>
                  </Table.Td>
                  <Table.Td>{exam.studies.length === 0 ? '–' : imageCount(exam)}</Table.Td>
                  <Table.Td>
                    <Group gap="xs" justify="flex-end" wrap="nowrap">
                      {exam.studies.length > 0 && (
                        <Button size="xs" onClick={() => setActing({ exam, action: 'attach' })}>
                          Attach
                        </Button>
                      )}
                      <Button size="xs" variant="default" onClick={() => setActing({ exam, action: 'merge' })}>
                        Merge patient
                      </Button>
                      <Button
                        size="xs"
                        variant="subtle"
                        color="red"
                        onClick={() => setActing({ exam, action: 'dismiss' })}
                      >
                        Dismiss
                      </Button>
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
