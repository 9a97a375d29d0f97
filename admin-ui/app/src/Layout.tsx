// The frame around every screen: the hub's name, the navigation (a link list a keyboard can walk), and who is
// signed in with the way out. On a narrow screen (a tablet upright) the navigation folds behind a burger. A user
// limited to facilities is offered only what the hub serves such a user: the facilities' messages and records.
import { AppShell, Badge, Burger, Button, Group, NavLink, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useState } from 'react';
import { Link, Outlet, useLocation } from 'react-router';
import { messageOf } from './api/client.ts';
import { readingSections, readsOnly } from './screens/reading/nav.ts';
import { useSession } from './session.tsx';
import { isWorkOnly, workSections } from './screens/work-areas.tsx';

const sections = [
  { to: '/', label: 'Dashboard', engine: true },
  { to: '/channels', label: 'Channels', engine: true },
  { to: '/messages', label: 'Messages' },
  { to: '/queues', label: 'Queues', engine: true },
  { to: '/facilities', label: 'Facilities' },
  { to: '/users', label: 'Users', admin: true, engine: true },
  { to: '/audit', label: 'Audit log', admin: true, engine: true },
];

export function Layout() {
  const { user, signOut } = useSession();
  const [opened, { toggle, close }] = useDisclosure();
  const [failure, setFailure] = useState<string>();
  const location = useLocation();
  const admin = user?.roles.includes('admin') ?? false;
  const limited = user?.facilities !== undefined;
  const active = (to: string) => (to === '/' ? location.pathname === '/' : location.pathname.startsWith(to));

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 210, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Show navigation" />
            <Title order={1} size="h4">
              RSO hub
            </Title>
          </Group>
          <Group gap="sm" wrap="nowrap">
            {failure && (
              <Text c="red" size="sm" role="alert">
                {failure}
              </Text>
            )}
            <div>
              <Text size="sm" fw={600} data-testid="signed-in-user">
                {user?.name || user?.username}
              </Text>
              <Group gap={4}>
                {user?.roles.map((role) => (
                  <Badge key={role} size="xs" variant="light">
                    {role}
                  </Badge>
                ))}
                {user?.facilities?.map((code) => (
                  <Badge
                    key={code}
                    size="xs"
                    variant="outline"
                    color="grape"
                    tt="none"
                    title="Limited to this facility"
                  >
                    {code}
                  </Badge>
                ))}
              </Group>
            </div>
            <Button variant="default" size="xs" component={Link} to="/password">
              Password
            </Button>
            <Button
              variant="default"
              size="xs"
              onClick={() => signOut().catch((error: unknown) => setFailure(messageOf(error)))}
            >
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Sections">
        {[...workSections(user), ...readingSections(user), ...(readsOnly(user) || isWorkOnly(user) ? [] : sections)]
          .filter((s) => (!('admin' in s && s.admin) || admin) && !('engine' in s && s.engine && limited))
          .map((s) => (
            <NavLink
              key={s.to}
              component={Link}
              to={s.to}
              label={s.label}
              active={active(s.to)}
              onClick={close}
              aria-current={active(s.to) ? 'page' : undefined}
            />
          ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
