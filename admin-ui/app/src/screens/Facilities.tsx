// Facilities: the list, and one facility edited as JSON (AE titles, MSH-4 codes, PACS, report destinations,
// staff, billing rules) with the hub's validation, the same as for the seed files, shown at each field's path.
import { Alert, Badge, Button, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { ApiError, type ApiIssue, get, post, put } from '../api/client.ts';
import type { Facility } from '../api/types.ts';
import { useSession } from '../session.tsx';
import { JsonEditor, parseJson } from '../ui/JsonEditor.tsx';
import { ErrorNote, Loadable } from '../ui/states.tsx';
import { useLoad } from '../ui/use-load.ts';

const blank = {
  code: 'NEWFAC',
  name: 'New facility',
  aeTitles: [],
  sendingFacilities: [],
  technicians: [],
  radiologists: [],
  reportDestinations: {},
  billingRules: [],
  active: true,
};

export function FacilitiesScreen() {
  const { may, user } = useSession();
  // Creating a facility is for an admin not limited to facilities; a client admin edits its own.
  const mayCreate = user?.roles.includes('admin') === true && user.facilities === undefined;
  const facilities = useLoad(() => get<Facility[] | { items: Facility[] }>('/api/facilities'), []);
  const [editing, setEditing] = useState<{ code?: string; text: string }>();
  const notOffered = facilities.error instanceof ApiError && facilities.error.status === 404;

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Facilities</Title>
        {mayCreate && !editing && !notOffered && (
          <Button onClick={() => setEditing({ text: JSON.stringify(blank, null, 2) })}>New facility</Button>
        )}
      </Group>
      {editing && (
        <FacilityEditor
          key={editing.code ?? 'new'}
          {...editing}
          writable={may('facilities')}
          onDone={() => {
            setEditing(undefined);
            facilities.reload();
          }}
        />
      )}
      {notOffered ? (
        <Alert color="gray" variant="light" title="Facilities are not editable on this hub">
          This hub has no facility API yet: its facilities come from the files in config/facilities.
        </Alert>
      ) : (
        <Loadable
          loaded={facilities}
          isEmpty={(list) => (Array.isArray(list) ? list : list.items).length === 0}
          empty="No facility is configured."
        >
          {(list) => (
            <Table striped highlightOnHover>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Code</Table.Th>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>AE titles</Table.Th>
                  <Table.Th>MSH-4</Table.Th>
                  <Table.Th>State</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {(Array.isArray(list) ? list : list.items).map((f) => (
                  <Table.Tr key={f.code}>
                    <Table.Td>{f.code}</Table.Td>
                    <Table.Td>{f.name}</Table.Td>
                    <Table.Td>{f.aeTitles.join(', ') || '–'}</Table.Td>
                    <Table.Td>{f.sendingFacilities.join(', ') || '–'}</Table.Td>
                    <Table.Td>
                      <Badge color={f.active ? 'teal' : 'gray'} variant="light">
                        {f.active ? 'active' : 'inactive'}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Button
                        size="xs"
                        variant="default"
                        onClick={() => setEditing({ code: f.code, text: JSON.stringify(f, null, 2) })}
                      >
                        {may('facilities') ? 'Edit' : 'View'}
                      </Button>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Loadable>
      )}
    </Stack>
  );
}

interface EditorProps {
  code?: string;
  text: string;
  writable: boolean;
  onDone(): void;
}

function FacilityEditor({ code, text: initial, writable, onDone }: EditorProps) {
  const [text, setText] = useState(initial);
  const [issues, setIssues] = useState<readonly ApiIssue[]>([]);
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const save = async () => {
    const parsed = parseJson(text);
    if ('error' in parsed) return;
    setBusy(true);
    setFailure(undefined);
    try {
      if (code === undefined) await post('/api/facilities', parsed.value);
      else await put(`/api/facilities/${encodeURIComponent(code)}`, parsed.value);
      setIssues([]);
      onDone();
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) setIssues(error.issues);
      else setFailure(error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Stack>
      <Text fw={600}>{code === undefined ? 'New facility' : `Facility ${code}`}</Text>
      {failure !== undefined && <ErrorNote error={failure} title="Could not save" />}
      <JsonEditor label="Facility (JSON)" value={text} onChange={setText} issues={issues} readOnly={!writable} />
      <Group>
        {writable && (
          <Button onClick={save} loading={busy}>
            {code === undefined ? 'Create facility' : 'Save facility'}
          </Button>
        )}
        <Button variant="subtle" onClick={onDone}>
          Close
        </Button>
      </Group>
    </Stack>
  );
}
