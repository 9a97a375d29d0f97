// One message: what arrived (raw), what the map made of it, and for each destination what was sent, what the
// peer answered, the attempts and the last error; reprocess (a new message through the running revision) and
// resend (one destination again). Refreshes by itself while deliveries are under way.
import { Alert, Badge, Button, Card, Code, Group, SimpleGrid, Stack, Tabs, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { get, post } from '../api/client.ts';
import type { DeliveryRecord, MessageDetail } from '../api/types.ts';
import { useSession } from '../session.tsx';
import { formatDateTime, stateColor } from '../ui/format.ts';
import { ErrorNote, Loadable } from '../ui/states.tsx';
import { useLoad } from '../ui/use-load.ts';

/** HL7 segments are separated by CR; shown one per line. */
function readable(text: string | undefined): string {
  return (text ?? '').replace(/\r\n?/g, '\n');
}

export function MessageDetailScreen() {
  const id = useParams()['id'] ?? '';
  const message = useLoad(() => get<MessageDetail>(`/api/messages/${encodeURIComponent(id)}`), [id], 3_000);
  return (
    <Stack>
      <Text component={Link} to="/messages" size="sm" c="dimmed">
        ← Messages
      </Text>
      <Loadable loaded={message}>{(m) => <Detail message={m} reload={message.reload} />}</Loadable>
    </Stack>
  );
}

function Detail({ message, reload }: { message: MessageDetail; reload(): void }) {
  const { may } = useSession();
  const navigate = useNavigate();
  const [failure, setFailure] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const [busy, setBusy] = useState<string>();
  const path = `/api/messages/${encodeURIComponent(message._id)}`;

  const act = async (key: string, action: () => Promise<string | undefined>) => {
    setBusy(key);
    setFailure(undefined);
    setNotice(undefined);
    try {
      setNotice(await action());
      reload();
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(undefined);
    }
  };
  const resend = (destination: string) =>
    act(`resend:${destination}`, async () => {
      await post(`${path}/resend`, { destination });
      return `Queued again for ${destination}.`;
    });
  const reprocess = () =>
    act('reprocess', async () => {
      const outcome = await post<{ status: string; messageId?: string }>(`${path}/reprocess`);
      if (outcome.messageId) navigate(`/messages/${outcome.messageId}`);
      return `Reprocessed: ${outcome.status}.`;
    });

  return (
    <>
      <Group justify="space-between">
        <Group gap="sm">
          <Title order={2}>{message.messageType ?? message.dataType}</Title>
          <Badge color={stateColor[message.state] ?? 'gray'}>{message.state}</Badge>
        </Group>
        {may('messages') && (
          <Button variant="light" loading={busy === 'reprocess'} onClick={reprocess}>
            Reprocess
          </Button>
        )}
      </Group>
      <SimpleGrid cols={{ base: 2, md: 4 }}>
        <Fact label="Received" value={formatDateTime(message.receivedAt)} />
        <Fact label="Channel" value={`${message.channelId} (revision ${message.revision})`} />
        <Fact label="Control id" value={message.controlId} />
        <Fact label="Accession" value={message.accession} />
        <Fact label="Patient id" value={message.patientId} />
        <Fact label="Order number" value={message.orderNumber} />
        {Object.entries(message.source).map(([key, value]) => (
          <Fact key={key} label={`Source ${key}`} value={value} />
        ))}
      </SimpleGrid>
      {message.error && (
        <Alert color="red" title="Processing failed">
          {message.error}
        </Alert>
      )}
      {failure !== undefined && <ErrorNote error={failure} title="The action failed" />}
      {notice && (
        <Alert color="teal" variant="light" role="status">
          {notice}
        </Alert>
      )}
      <Tabs defaultValue="raw">
        <Tabs.List>
          <Tabs.Tab value="raw">Raw</Tabs.Tab>
          <Tabs.Tab value="mapped">Transformed</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="raw" pt="xs">
          <Code block>{readable(message.raw)}</Code>
        </Tabs.Panel>
        <Tabs.Panel value="mapped" pt="xs">
          {message.mapped ? (
            <Code block>{readable(message.mapped)}</Code>
          ) : (
            <Text c="dimmed">No transformed form.</Text>
          )}
        </Tabs.Panel>
      </Tabs>
      <Title order={3}>Destinations</Title>
      {message.destinations.length === 0 && <Text c="dimmed">This message went to no destination.</Text>}
      {message.destinations.map((d) => (
        <Delivery
          key={d.name}
          record={d}
          canResend={may('messages')}
          busy={busy === `resend:${d.name}`}
          onResend={() => resend(d.name)}
        />
      ))}
    </>
  );
}

function Fact({ label, value }: { label: string; value: string | undefined }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm">{value ?? '–'}</Text>
    </div>
  );
}

interface DeliveryProps {
  record: DeliveryRecord;
  canResend: boolean;
  busy: boolean;
  onResend(): void;
}

function Delivery({ record, canResend, busy, onResend }: DeliveryProps) {
  return (
    <Card withBorder data-testid={`destination-${record.name}`}>
      <Group justify="space-between" mb="xs">
        <Group gap="sm">
          <Text fw={600}>{record.name}</Text>
          <Badge color={stateColor[record.state] ?? 'gray'}>{record.state}</Badge>
          <Text size="sm" data-testid="attempts">
            {record.attempts} attempt{record.attempts === 1 ? '' : 's'}
          </Text>
          {record.parked && <Badge color="orange">parked</Badge>}
        </Group>
        <Group gap="sm">
          <Text size="xs" c="dimmed">
            updated {formatDateTime(record.updatedAt)}
          </Text>
          {canResend && record.content !== undefined && (
            <Button size="xs" variant="default" loading={busy} onClick={onResend}>
              Resend to {record.name}
            </Button>
          )}
        </Group>
      </Group>
      {record.lastError && (
        <Alert color="red" variant="light" mb="xs" title="Last error">
          {record.lastError}
        </Alert>
      )}
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <div>
          <Text size="xs" c="dimmed">
            Sent content
          </Text>
          {record.content ? <Code block>{readable(record.content)}</Code> : <Text size="sm">–</Text>}
        </div>
        <div>
          <Text size="xs" c="dimmed">
            Response
          </Text>
          {record.response ? <Code block>{readable(record.response)}</Code> : <Text size="sm">–</Text>}
        </div>
      </SimpleGrid>
    </Card>
  );
}
