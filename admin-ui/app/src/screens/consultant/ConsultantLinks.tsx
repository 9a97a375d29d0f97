// Temporary links for a consultant: choose how long (1 to 720 hours), create, copy the address shown once (the
// hub keeps only a hash of it), and revoke. The exam's links are listed with their state and how often used.
import { Badge, Button, Code, CopyButton, Group, NumberInput, Stack, Table, Text } from '@mantine/core';
import { useState } from 'react';
import { get, post } from '../../api/client.ts';
import { formatDateTime } from '../../ui/format.ts';
import { ErrorNote, Loadable } from '../../ui/states.tsx';
import { useLoad } from '../../ui/use-load.ts';
import type { ConsultantLink } from '../reading/types.ts';

const stateColor = { open: 'teal', revoked: 'red', expired: 'gray' } as const;

export function ConsultantLinks({ examNumber }: { examNumber: string }) {
  const base = `/api/exams/${encodeURIComponent(examNumber)}/consultant-links`;
  const links = useLoad(() => get<ConsultantLink[]>(base), [base]);
  const [hours, setHours] = useState<number | string>(72);
  const [created, setCreated] = useState<string>();
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState<string>();

  const act = async (key: string, step: () => Promise<void>) => {
    setBusy(key);
    setFailure(undefined);
    try {
      await step();
      links.reload();
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(undefined);
    }
  };

  const create = () =>
    act('create', async () => {
      const link = await post<ConsultantLink>(base, { hours: Number(hours) });
      setCreated(new URL(link.path ?? '', window.location.origin).href);
    });

  return (
    <Stack gap="sm">
      <Group align="flex-end" gap="sm">
        <NumberInput
          label="Valid for (hours, 1–720)"
          min={1}
          max={720}
          allowDecimal={false}
          value={hours}
          onChange={setHours}
          w={200}
        />
        <Button loading={busy === 'create'} onClick={create}>
          Create consultant link
        </Button>
      </Group>
      {failure !== undefined && <ErrorNote error={failure} title="Not done" />}
      {created && (
        <Stack gap={4}>
          <Text size="sm">Send this address to the consultant. It is shown only now.</Text>
          <Group gap="xs" wrap="nowrap">
            <Code data-testid="consultant-link" style={{ wordBreak: 'break-all' }}>
              {created}
            </Code>
            <CopyButton value={created}>
              {({ copied, copy }) => (
                <Button size="xs" variant="default" onClick={copy}>
                  {copied ? 'Copied' : 'Copy'}
                </Button>
              )}
            </CopyButton>
          </Group>
        </Stack>
      )}
      <Loadable loaded={links} isEmpty={(rows) => rows.length === 0} empty="No link made for this exam yet.">
        {(rows) => (
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>State</Table.Th>
                <Table.Th>Made by</Table.Th>
                <Table.Th>Valid until</Table.Th>
                <Table.Th>Opened</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((link) => (
                <Table.Tr key={link.id} data-testid="consultant-link-row">
                  <Table.Td>
                    <Badge color={stateColor[link.state]} variant="light">
                      {link.state}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    {link.createdBy} · {formatDateTime(link.createdAt)}
                  </Table.Td>
                  <Table.Td>{formatDateTime(link.revokedAt ?? link.expiresAt)}</Table.Td>
                  <Table.Td>{link.uses === 1 ? 'once' : `${link.uses} times`}</Table.Td>
                  <Table.Td>
                    {link.state === 'open' && (
                      <Button
                        size="xs"
                        color="red"
                        variant="light"
                        loading={busy === link.id}
                        onClick={() => act(link.id, () => post(`/api/consultant-links/${link.id}/revoke`))}
                      >
                        Revoke
                      </Button>
                    )}
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
