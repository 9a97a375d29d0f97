// Facilities: the list, and one facility at a time in its editor (screens/facilities/), which takes the whole
// screen while open so the form reads at 1280×800 without the list pushing it down.
import { Alert, Badge, Button, Group, Stack, Table, Title } from '@mantine/core';
import { useState } from 'react';
import { ApiError, get } from '../api/client.ts';
import type { Facility } from '../api/types.ts';
import { useSession } from '../session.tsx';
import { Loadable } from '../ui/states.tsx';
import { useLoad } from '../ui/use-load.ts';
import type { Draft } from './facilities/draft.ts';
import { FacilityEditor } from './facilities/FacilityEditor.tsx';

const blank: Draft = {
  code: '',
  name: '',
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
  const [editing, setEditing] = useState<{ code?: string; initial: Draft }>();
  const notOffered = facilities.error instanceof ApiError && facilities.error.status === 404;

  if (editing)
    return (
      <FacilityEditor
        key={editing.code ?? 'new'}
        {...editing}
        writable={may('facilities')}
        onDone={() => {
          setEditing(undefined);
          facilities.reload();
        }}
      />
    );

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Facilities</Title>
        {mayCreate && !notOffered && <Button onClick={() => setEditing({ initial: blank })}>New facility</Button>}
      </Group>
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
                      <Button size="xs" variant="default" onClick={() => setEditing({ code: f.code, initial: f })}>
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
