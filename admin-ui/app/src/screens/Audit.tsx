// The audit log: who changed what and when, newest first, a page at a time; an entry with a before and after
// shows them side by side.
import { Button, Code, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { Fragment, useState } from 'react';
import { get, query } from '../api/client.ts';
import type { AuditEntry, Page } from '../api/types.ts';
import { formatDateTime } from '../ui/format.ts';
import { SideBySideDiff } from '../ui/SideBySideDiff.tsx';
import { Loadable } from '../ui/states.tsx';
import { useLoad } from '../ui/use-load.ts';

function pageOf(answer: Page<AuditEntry> | AuditEntry[]): Page<AuditEntry> {
  return Array.isArray(answer) ? { items: answer } : answer;
}

interface Filters {
  target: string;
  user: string;
  action: string;
}
const noFilters: Filters = { target: '', user: '', action: '' };
const filterFields: ReadonlyArray<[keyof Filters, string, string]> = [
  ['target', 'Target', 'channel:orders'],
  ['user', 'User', 'admin'],
  ['action', 'Action', 'channel.save'],
];

const pretty = (value: unknown): string => (value === undefined ? '' : JSON.stringify(value, null, 2));

export function AuditScreen() {
  const [filters, setFilters] = useState<Filters>(noFilters);
  const [applied, setApplied] = useState<Filters>(noFilters);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const page = useLoad(
    async () => pageOf(await get<Page<AuditEntry> | AuditEntry[]>(`/api/audit${query({ ...applied, cursor })}`)),
    [applied, cursor],
  );
  const [open, setOpen] = useState<number>();

  return (
    <Stack>
      <Title order={2}>Audit log</Title>
      <Group
        component="form"
        align="flex-end"
        onSubmit={(e) => {
          e.preventDefault();
          setCursors([]);
          setApplied(filters);
        }}
      >
        {filterFields.map(([key, label, example]) => (
          <TextInput
            key={key}
            label={label}
            placeholder={example}
            value={filters[key]}
            onChange={(e) => {
              const value = e.currentTarget.value;
              setFilters((f) => ({ ...f, [key]: value }));
            }}
          />
        ))}
        <Button type="submit" variant="default">
          Filter
        </Button>
      </Group>
      <Loadable loaded={page} isEmpty={(p) => p.items.length === 0} empty="No change recorded.">
        {(p) => (
          <>
            <Table striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>When</Table.Th>
                  <Table.Th>Who</Table.Th>
                  <Table.Th>What</Table.Th>
                  <Table.Th>Target</Table.Th>
                  <Table.Th>Detail</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {p.items.map((entry, index) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: entries carry no id; the page is replaced whole
                  <Fragment key={index}>
                    <Table.Tr data-testid="audit-row">
                      <Table.Td>{formatDateTime(entry.at)}</Table.Td>
                      <Table.Td>{entry.user}</Table.Td>
                      <Table.Td>{entry.action}</Table.Td>
                      <Table.Td>{entry.target}</Table.Td>
                      <Table.Td>
                        {entry.detail && <Code>{JSON.stringify(entry.detail)}</Code>}
                        {(entry.before !== undefined || entry.after !== undefined) && (
                          <Button
                            size="compact-xs"
                            variant="subtle"
                            onClick={() => setOpen(open === index ? undefined : index)}
                          >
                            {open === index ? 'Hide change' : 'Show change'}
                          </Button>
                        )}
                      </Table.Td>
                    </Table.Tr>
                    {open === index && (
                      <Table.Tr>
                        <Table.Td colSpan={5}>
                          <SideBySideDiff
                            before={pretty(entry.before)}
                            after={pretty(entry.after)}
                            labels={['Before', 'After']}
                          />
                        </Table.Td>
                      </Table.Tr>
                    )}
                  </Fragment>
                ))}
              </Table.Tbody>
            </Table>
            <Group justify="flex-end">
              <Text size="sm" c="dimmed">
                {p.items.length} entries on this page
              </Text>
              <Button
                size="xs"
                variant="default"
                disabled={cursors.length === 0}
                onClick={() => setCursors((c) => c.slice(0, -1))}
              >
                Newer
              </Button>
              <Button
                size="xs"
                variant="default"
                disabled={!p.next}
                onClick={() => p.next && setCursors((c) => [...c, p.next!])}
              >
                Older
              </Button>
            </Group>
          </>
        )}
      </Loadable>
    </Stack>
  );
}
