// Register an exam request: for a new patient (MRN, name, birth date, sex) or for one found by name, MRN or birth
// date. The hub checks it as it checks a FHIR ServiceRequest and assigns the exam number; a refusal is shown at
// the field it names (the answer's `path`), anything else above the buttons.
import {
  Alert,
  Button,
  Group,
  Paper,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { ApiError, get, messageOf, post, query } from '../../api/client.ts';
import { FacilityPicker, useFacility } from './FacilityPicker.tsx';
import { type PatientHit, patientName, priorities, type WorkExam } from './work-types.ts';

const emptyPatient = { mrn: '', family: '', given: '', birthDate: '', sex: '' };
const emptyOrder = {
  procedureCode: '',
  procedureText: '',
  modality: '',
  priority: 'routine',
  scheduledAt: '',
  reason: '',
};

function PatientSearch({ facility, onPick }: { facility: string; onPick(patient: PatientHit): void }) {
  const [search, setSearch] = useState({ name: '', mrn: '', birthDate: '' });
  const [hits, setHits] = useState<PatientHit[]>();
  const [error, setError] = useState<unknown>();
  const run = async () => {
    setError(undefined);
    try {
      setHits(await get<PatientHit[]>(`/api/facilities/${encodeURIComponent(facility)}/patients${query(search)}`));
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <Stack gap="xs">
      <Group align="flex-end">
        <TextInput
          label="Family name"
          value={search.name}
          onChange={(e) => setSearch({ ...search, name: e.currentTarget.value })}
        />
        <TextInput
          label="MRN"
          value={search.mrn}
          onChange={(e) => setSearch({ ...search, mrn: e.currentTarget.value })}
        />
        <TextInput
          label="Birth date"
          placeholder="YYYY-MM-DD"
          value={search.birthDate}
          onChange={(e) => setSearch({ ...search, birthDate: e.currentTarget.value })}
        />
        <Button variant="default" onClick={run}>
          Find patient
        </Button>
      </Group>
      {error !== undefined && (
        <Text c="red" size="sm" role="alert">
          {messageOf(error)}
        </Text>
      )}
      {hits?.length === 0 && (
        <Text size="sm" c="dimmed">
          No patient of this facility matches.
        </Text>
      )}
      {hits && hits.length > 0 && (
        <Table>
          <Table.Tbody>
            {hits.map((hit) => (
              <Table.Tr key={hit.id}>
                <Table.Td>{patientName(hit.name)}</Table.Td>
                <Table.Td>{hit.birthDate ?? '–'}</Table.Td>
                <Table.Td>MRN {hit.mrns.join(', ') || '–'}</Table.Td>
                <Table.Td>
                  <Button size="xs" onClick={() => onPick(hit)}>
                    Choose
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

export function RegisterExamScreen() {
  const [facility, setFacility] = useFacility();
  const navigate = useNavigate();
  const [mode, setMode] = useState<'new' | 'known'>('new');
  const [patient, setPatient] = useState(emptyPatient);
  const [known, setKnown] = useState<PatientHit>();
  const [order, setOrder] = useState(emptyOrder);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<WorkExam>();
  const at = (path: string) => (error instanceof ApiError && error.path === path ? error.message : undefined);
  const patientField = (
    key: keyof typeof emptyPatient,
    label: string,
    extra: { placeholder?: string; required?: boolean } = {},
  ) => (
    <TextInput
      label={label}
      {...extra}
      value={patient[key]}
      onChange={(e) => setPatient({ ...patient, [key]: e.currentTarget.value })}
      error={at(`patient.${key}`)}
    />
  );
  const orderField = (
    key: keyof typeof emptyOrder,
    label: string,
    extra: { placeholder?: string; required?: boolean } = {},
  ) => (
    <TextInput
      label={label}
      {...extra}
      value={order[key]}
      onChange={(e) => setOrder({ ...order, [key]: e.currentTarget.value })}
      error={at(key)}
    />
  );

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const who = mode === 'new' ? { patient } : { patientId: known?.id ?? '' };
      const scheduledAt = order.scheduledAt === '' ? '' : new Date(order.scheduledAt).toISOString();
      setCreated(
        await post<WorkExam>(`/api/facilities/${encodeURIComponent(facility)}/exams`, {
          ...who,
          ...order,
          scheduledAt,
        }),
      );
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const shownAtField = error instanceof ApiError && error.path !== undefined && error.path !== 'patientId';

  if (created)
    return (
      <Stack>
        <Title order={2}>Exam registered</Title>
        <Alert color="teal" variant="light" title={`Exam number ${created.examNumber}`} data-testid="registered">
          The technician puts {created.examNumber} in the images' PatientID; the exam is on your active list.
        </Alert>
        <Group>
          <Button onClick={() => navigate(`/work/active?facility=${encodeURIComponent(facility)}`)}>
            Active exams
          </Button>
          <Button
            variant="default"
            onClick={() => {
              setCreated(undefined);
              setOrder(emptyOrder);
            }}
          >
            Register another
          </Button>
        </Group>
      </Stack>
    );

  return (
    <Stack maw={900}>
      <Group justify="space-between" align="flex-end">
        <Title order={2}>Register an exam</Title>
        <FacilityPicker value={facility} onChange={setFacility} />
      </Group>
      <Paper withBorder p="md">
        <Stack>
          <SegmentedControl
            value={mode}
            onChange={(v) => setMode(v as 'new' | 'known')}
            data={[
              { value: 'new', label: 'New patient' },
              { value: 'known', label: 'Existing patient' },
            ]}
            w={320}
          />
          {mode === 'new' ? (
            <SimpleGrid cols={{ base: 1, sm: 3 }}>
              {patientField('mrn', 'Medical record number', { required: true })}
              {patientField('family', 'Family name', { required: true })}
              {patientField('given', 'Given names')}
              {patientField('birthDate', 'Birth date', { placeholder: 'YYYY-MM-DD' })}
              <Select
                label="Sex"
                data={['female', 'male', 'other', 'unknown']}
                value={patient.sex || null}
                onChange={(v) => setPatient({ ...patient, sex: v ?? '' })}
                error={at('patient.sex')}
                clearable
              />
            </SimpleGrid>
          ) : known ? (
            <Group>
              <Text fw={600}>{patientName(known.name)}</Text>
              <Text c="dimmed">
                born {known.birthDate ?? 'unknown'} · MRN {known.mrns.join(', ')}
              </Text>
              <Button size="xs" variant="subtle" onClick={() => setKnown(undefined)}>
                Choose another
              </Button>
            </Group>
          ) : (
            <PatientSearch facility={facility} onPick={setKnown} />
          )}
        </Stack>
      </Paper>
      <Paper withBorder p="md">
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          {orderField('procedureCode', 'Procedure code', { required: true })}
          {orderField('procedureText', 'Procedure')}
          {orderField('modality', 'Modality', { placeholder: 'CT, MR, CR…' })}
          <Select
            label="Priority"
            data={[...priorities]}
            value={order.priority}
            onChange={(v) => setOrder({ ...order, priority: v ?? 'routine' })}
            error={at('priority')}
          />
          <TextInput
            label="Scheduled for"
            type="datetime-local"
            value={order.scheduledAt}
            onChange={(e) => setOrder({ ...order, scheduledAt: e.currentTarget.value })}
            error={at('scheduledAt')}
          />
          {orderField('reason', 'Reason for the exam')}
        </SimpleGrid>
      </Paper>
      {error !== undefined && !shownAtField && (
        <Alert color="red" variant="light" role="alert">
          {messageOf(error)}
        </Alert>
      )}
      <Group>
        <Button loading={busy} onClick={submit} disabled={mode === 'known' && !known}>
          Register
        </Button>
      </Group>
    </Stack>
  );
}
