// Changing an exam from the facility's active list: its details while the lifecycle allows (the hub refuses a
// stale version with 412 and a closed exam with 409, said in words), and cancel, which needs a reason.
import { Alert, Button, Group, Modal, Select, Stack, TextInput } from '@mantine/core';
import { useState } from 'react';
import { ApiError, messageOf, post, request } from '../../api/client.ts';
import { priorities, procedureOf, type WorkExam } from './work-types.ts';

interface Props {
  exam: WorkExam;
  mode: 'edit' | 'cancel';
  onClose(): void;
  onDone(): void;
}

function fieldError(error: unknown, path: string): string | undefined {
  return error instanceof ApiError && error.path === path ? error.message : undefined;
}

export function ExamActions({ exam, mode, onClose, onDone }: Props) {
  const [form, setForm] = useState({
    procedureCode: exam.procedure.code,
    procedureText: exam.procedure.text ?? '',
    modality: exam.modality ?? '',
    priority: exam.priority as string,
    reason: exam.reason ?? '',
  });
  const [cancelReason, setCancelReason] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const set = (key: keyof typeof form) => (value: string) => setForm({ ...form, [key]: value });

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      if (mode === 'edit') await request('PATCH', `/api/exams/${exam.examNumber}`, form);
      else await post(`/api/exams/${exam.examNumber}/cancel`, { reason: cancelReason });
      onDone();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const general = error !== undefined && !(error instanceof ApiError && error.path !== undefined && error.status < 409);

  return (
    <Modal
      opened
      onClose={onClose}
      title={mode === 'edit' ? `Change exam ${exam.examNumber}` : `Cancel exam ${exam.examNumber}`}
    >
      <Stack>
        {mode === 'edit' ? (
          <>
            <TextInput
              label="Procedure code"
              required
              value={form.procedureCode}
              onChange={(e) => set('procedureCode')(e.currentTarget.value)}
              error={fieldError(error, 'procedureCode')}
            />
            <TextInput
              label="Procedure"
              value={form.procedureText}
              onChange={(e) => set('procedureText')(e.currentTarget.value)}
            />
            <TextInput
              label="Modality"
              value={form.modality}
              onChange={(e) => set('modality')(e.currentTarget.value)}
            />
            <Select
              label="Priority"
              data={[...priorities]}
              value={form.priority}
              onChange={(v) => v && set('priority')(v)}
              error={fieldError(error, 'priority')}
            />
            <TextInput
              label="Reason for the exam"
              value={form.reason}
              onChange={(e) => set('reason')(e.currentTarget.value)}
            />
          </>
        ) : (
          <TextInput
            label="Why is the exam cancelled?"
            description={`${procedureOf(exam)}, ${exam.status}`}
            required
            value={cancelReason}
            onChange={(e) => setCancelReason(e.currentTarget.value)}
            error={fieldError(error, 'reason')}
          />
        )}
        {general && (
          <Alert color="red" variant="light" role="alert">
            {messageOf(error)}
          </Alert>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Close
          </Button>
          <Button color={mode === 'cancel' ? 'red' : undefined} loading={busy} onClick={submit}>
            {mode === 'edit' ? 'Save changes' : 'Cancel the exam'}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
