// People who sign in to the console (admins only): their roles and facility scope; add, change, remove. A new
// user's first password is set here and must be changed at the first sign-in.
import {
  Badge,
  Button,
  Group,
  MultiSelect,
  Paper,
  PasswordInput,
  SimpleGrid,
  Stack,
  Table,
  TagsInput,
  TextInput,
  Title,
} from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { del, get, patch, post } from '../api/client.ts';
import type { Role, UserRecord } from '../api/types.ts';
import { useSession } from '../session.tsx';
import { ErrorNote, Loadable } from '../ui/states.tsx';
import { useLoad } from '../ui/use-load.ts';

const consoleRoles: Role[] = ['admin', 'analyst', 'client-admin', 'viewer'];

interface Draft {
  username: string;
  name: string;
  roles: string[];
  facilities: string[];
  password: string;
}
const empty: Draft = { username: '', name: '', roles: ['viewer'], facilities: [], password: '' };

export function UsersScreen() {
  const { may, user: me } = useSession();
  const users = useLoad(async () => {
    const answer = await get<UserRecord[] | { items: UserRecord[] }>('/api/users');
    return Array.isArray(answer) ? answer : answer.items;
  }, []);
  const [draft, setDraft] = useState<Draft>();
  const [editing, setEditing] = useState<string>();
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setFailure(undefined);
    try {
      await action();
      setDraft(undefined);
      setEditing(undefined);
      users.reload();
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!draft) return;
    const scope = draft.facilities.length > 0 ? { facilities: draft.facilities } : {};
    const fields = { name: draft.name, roles: draft.roles, ...scope };
    void run(() =>
      editing === undefined
        ? post('/api/users', { username: draft.username, password: draft.password, ...fields })
        : patch(`/api/users/${encodeURIComponent(editing)}`, {
            ...fields,
            // null lifts a facility scope; leaving the key out would keep it.
            ...(draft.facilities.length === 0 ? { facilities: null } : {}),
            ...(draft.password ? { password: draft.password } : {}),
          }),
    );
  };
  const set = (key: keyof Draft) => (value: string | string[]) => setDraft((d) => (d ? { ...d, [key]: value } : d));

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Users</Title>
        {may('users') && !draft && <Button onClick={() => setDraft(empty)}>New user</Button>}
      </Group>
      {failure !== undefined && <ErrorNote error={failure} title="The change was refused" />}
      {draft && (
        <Paper
          component="form"
          onSubmit={submit}
          withBorder
          p="md"
          aria-label={editing ? `Edit ${editing}` : 'New user'}
        >
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput
              label="User name"
              required
              disabled={editing !== undefined}
              value={draft.username}
              onChange={(e) => set('username')(e.currentTarget.value)}
            />
            <TextInput
              label="Full name"
              required
              value={draft.name}
              onChange={(e) => set('name')(e.currentTarget.value)}
            />
            <MultiSelect label="Roles" required data={consoleRoles} value={draft.roles} onChange={set('roles')} />
            <TagsInput label="Facilities (empty: all)" value={draft.facilities} onChange={set('facilities')} />
            <PasswordInput
              label={editing ? 'New password (optional)' : 'First password'}
              required={editing === undefined}
              autoComplete="new-password"
              value={draft.password}
              onChange={(e) => set('password')(e.currentTarget.value)}
            />
          </SimpleGrid>
          <Group mt="md">
            <Button type="submit" loading={busy}>
              {editing ? 'Save user' : 'Create user'}
            </Button>
            <Button
              variant="subtle"
              onClick={() => {
                setDraft(undefined);
                setEditing(undefined);
              }}
            >
              Cancel
            </Button>
          </Group>
        </Paper>
      )}
      <Loadable loaded={users} isEmpty={(list) => list.length === 0} empty="No users.">
        {(list) => (
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>User</Table.Th>
                <Table.Th>Name</Table.Th>
                <Table.Th>Roles</Table.Th>
                <Table.Th>Facilities</Table.Th>
                {may('users') && <Table.Th>Actions</Table.Th>}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.map((u) => (
                <Table.Tr key={u.username}>
                  <Table.Td>
                    {u.username} {u.locked && <Badge color="red">locked</Badge>}
                  </Table.Td>
                  <Table.Td>{u.name}</Table.Td>
                  <Table.Td>
                    <Group gap={4}>
                      {u.roles.map((r) => (
                        <Badge key={r} variant="light">
                          {r}
                        </Badge>
                      ))}
                    </Group>
                  </Table.Td>
                  <Table.Td>{u.facilities?.join(', ') ?? 'all'}</Table.Td>
                  {may('users') && (
                    <Table.Td>
                      <Group gap="xs" wrap="nowrap">
                        <Button
                          size="xs"
                          variant="default"
                          onClick={() => {
                            setEditing(u.username);
                            setDraft({
                              username: u.username,
                              name: u.name,
                              roles: u.roles,
                              facilities: u.facilities ?? [],
                              password: '',
                            });
                          }}
                        >
                          Edit
                        </Button>
                        <Button
                          size="xs"
                          color="red"
                          variant="light"
                          disabled={u.username === me?.username || busy}
                          onClick={() =>
                            window.confirm(`Remove ${u.username}?`) &&
                            void run(() => del(`/api/users/${encodeURIComponent(u.username)}`))
                          }
                        >
                          Remove
                        </Button>
                      </Group>
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Loadable>
    </Stack>
  );
}
