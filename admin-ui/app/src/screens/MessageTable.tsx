// One page of the message browser, with a selection: the selected messages can be reprocessed together (each
// becomes a new message through its channel's running revision) or exported by the hub as one NDJSON file.
import { Alert, Badge, Button, Checkbox, Group, Table, Text } from '@mantine/core';
import { useState } from 'react';
import { Link } from 'react-router';
import { messageOf, post } from '../api/client.ts';
import type { MessageSummary } from '../api/types.ts';
import { useSession } from '../session.tsx';
import { formatDateTime, stateColor } from '../ui/format.ts';

export function MessageTable({ items }: { items: MessageSummary[] }) {
  const { may } = useSession();
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [busy, setBusy] = useState<'reprocess'>();
  const [report, setReport] = useState<{ ok: boolean; text: string }>();
  const chosen = items.filter((m) => selected.has(m._id));
  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (!next.delete(id)) next.add(id);
      return next;
    });
  const all = chosen.length === items.length && items.length > 0;

  const reprocess = async () => {
    setBusy('reprocess');
    const failures: string[] = [];
    for (const m of chosen) {
      try {
        await post(`/api/messages/${encodeURIComponent(m._id)}/reprocess`);
      } catch (error) {
        failures.push(`${m.controlId ?? m._id}: ${messageOf(error)}`);
      }
    }
    setReport(
      failures.length === 0
        ? { ok: true, text: `${chosen.length} message${chosen.length === 1 ? '' : 's'} reprocessed.` }
        : { ok: false, text: `Not reprocessed: ${failures.join('; ')}` },
    );
    setBusy(undefined);
  };
  // The hub writes the export (NDJSON, one message a line, audited); the browser saves what it answers.
  const exportSelected = () => {
    const link = document.createElement('a');
    link.href = `/api/messages/export?ids=${chosen.map((m) => m._id).join(',')}`;
    link.download = '';
    link.click();
  };

  return (
    <>
      {chosen.length > 0 && (
        <Group gap="xs">
          <Text size="sm">{chosen.length} selected</Text>
          {may('messages') && (
            <Button size="xs" variant="light" loading={busy === 'reprocess'} onClick={reprocess}>
              Reprocess selected
            </Button>
          )}
          <Button size="xs" variant="default" onClick={exportSelected}>
            Export selected
          </Button>
        </Group>
      )}
      {report && (
        <Alert color={report.ok ? 'teal' : 'red'} variant="light" withCloseButton onClose={() => setReport(undefined)}>
          {report.text}
        </Alert>
      )}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th w={40}>
              <Checkbox
                aria-label="Select every message on this page"
                checked={all}
                indeterminate={chosen.length > 0 && !all}
                onChange={() => setSelected(all ? new Set() : new Set(items.map((m) => m._id)))}
              />
            </Table.Th>
            <Table.Th>Received</Table.Th>
            <Table.Th>Channel</Table.Th>
            <Table.Th>Type</Table.Th>
            <Table.Th>Control id</Table.Th>
            <Table.Th>Accession</Table.Th>
            <Table.Th>State</Table.Th>
            <Table.Th>Destinations</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((m) => (
            <Table.Tr key={m._id} data-testid="message-row">
              <Table.Td>
                <Checkbox
                  aria-label={`Select message ${m.controlId ?? m._id}`}
                  checked={selected.has(m._id)}
                  onChange={() => toggle(m._id)}
                />
              </Table.Td>
              <Table.Td>
                <Link to={`/messages/${m._id}`}>{formatDateTime(m.receivedAt)}</Link>
              </Table.Td>
              <Table.Td>{m.channelId}</Table.Td>
              <Table.Td>{m.messageType ?? m.dataType}</Table.Td>
              <Table.Td>{m.controlId ?? '–'}</Table.Td>
              <Table.Td>{m.accession ?? '–'}</Table.Td>
              <Table.Td>
                <Badge color={stateColor[m.state] ?? 'gray'} variant="light">
                  {m.state}
                </Badge>
              </Table.Td>
              <Table.Td>
                <Group gap={4}>
                  {m.destinations.map((d) => (
                    <Badge key={d.name} color={stateColor[d.state] ?? 'gray'} variant="outline" tt="none">
                      {d.name}: {d.state}
                    </Badge>
                  ))}
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </>
  );
}
