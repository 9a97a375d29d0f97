// The message browser: filters kept in the address (so a search can be bookmarked or shared), results a page at a
// time. The hub pages by cursor (`next`) where it offers one, else by skip with a total.
import { Button, Group, Paper, Select, SimpleGrid, Stack, Text, TextInput, Title } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { useSearchParams } from 'react-router';
import { get, query } from '../api/client.ts';
import type { ChannelOverview, MessageSummary, Page } from '../api/types.ts';
import { useSession } from '../session.tsx';
import { Loadable } from '../ui/states.tsx';
import { useLoad } from '../ui/use-load.ts';
import { MessageTable } from './MessageTable.tsx';

const pageSize = 50;
const textFilters = [
  ['accession', 'Accession'],
  ['patientId', 'Patient id'],
  ['controlId', 'Control id (MSH-10)'],
  ['orderNumber', 'Order number'],
  ['messageType', 'Message type'],
  ['text', 'Free text'],
] as const;
const states = ['received', 'filtered', 'processed', 'queued', 'sent', 'error'];

/** datetime-local (the user's zone) to an ISO instant for the hub. */
function instant(local: string | null): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function MessagesScreen() {
  const [params, setParams] = useSearchParams();
  const { user } = useSession();
  // The channel list is the engine's, which a user limited to facilities may not read (403).
  const limited = user?.facilities !== undefined;
  const channels = useLoad(
    () => (limited ? Promise.resolve<ChannelOverview[]>([]) : get<ChannelOverview[]>('/api/channels')),
    [limited],
  );
  const [draft, setDraft] = useState(() => Object.fromEntries(params.entries()));
  const cursor = params.get('cursor') ?? undefined;
  const skip = Number(params.get('skip') ?? 0);
  const search: Record<string, string | number | undefined> = {
    channelId: params.get('channelId') ?? undefined,
    state: params.get('state') ?? undefined,
    receivedFrom: instant(params.get('from')),
    receivedTo: instant(params.get('to')),
    ...Object.fromEntries(textFilters.map(([key]) => [key, params.get(key) ?? undefined])),
    limit: pageSize,
    ...(cursor ? { cursor } : { skip: skip || undefined }),
  };
  const path = `/api/messages${query(search)}`;
  const page = useLoad(() => get<Page<MessageSummary>>(path), [path]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [key, value] of Object.entries(draft))
      if (value && key !== 'cursor' && key !== 'skip') next.set(key, value);
    setParams(next);
  };
  const set = (key: string) => (value: string | null) => setDraft((d) => ({ ...d, [key]: value ?? '' }));
  const goTo = (changes: Record<string, string | undefined>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined) next.delete(key);
      else next.set(key, value);
    }
    setParams(next);
  };

  return (
    <Stack>
      <Title order={2}>Messages</Title>
      <Paper component="form" onSubmit={submit} withBorder p="md" aria-label="Search messages">
        <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }}>
          {!limited && (
            <Select
              label="Channel"
              clearable
              data={(channels.data ?? []).map((c) => ({ value: c.id, label: c.name }))}
              value={draft['channelId'] ?? null}
              onChange={set('channelId')}
            />
          )}
          <Select label="State" clearable data={states} value={draft['state'] ?? null} onChange={set('state')} />
          <TextInput
            label="Received from"
            type="datetime-local"
            value={draft['from'] ?? ''}
            onChange={(e) => set('from')(e.currentTarget.value)}
          />
          <TextInput
            label="Received to"
            type="datetime-local"
            value={draft['to'] ?? ''}
            onChange={(e) => set('to')(e.currentTarget.value)}
          />
          {textFilters.map(([key, label]) => (
            <TextInput
              key={key}
              label={label}
              value={draft[key] ?? ''}
              onChange={(e) => set(key)(e.currentTarget.value)}
            />
          ))}
        </SimpleGrid>
        <Group mt="md">
          <Button type="submit">Search</Button>
          <Button
            variant="subtle"
            onClick={() => {
              setDraft({});
              setParams(new URLSearchParams());
            }}
          >
            Clear
          </Button>
        </Group>
      </Paper>
      <Loadable loaded={page} isEmpty={(p) => p.items.length === 0} empty="No message matches this search.">
        {(p) => (
          <>
            <MessageTable key={path} items={p.items} />
            <Group justify="space-between">
              <Text size="sm" c="dimmed">
                {p.total !== undefined
                  ? `${skip + 1}–${skip + p.items.length} of ${p.total}`
                  : `${p.items.length} message${p.items.length === 1 ? '' : 's'} on this page`}
              </Text>
              <Group gap="xs">
                <Button
                  variant="default"
                  size="xs"
                  disabled={cursor === undefined && skip === 0}
                  onClick={() =>
                    goTo(cursor !== undefined ? { cursor: undefined } : { skip: String(Math.max(0, skip - pageSize)) })
                  }
                >
                  {cursor !== undefined ? 'First page' : 'Previous'}
                </Button>
                <Button
                  variant="default"
                  size="xs"
                  disabled={p.next ? false : p.total === undefined || skip + p.items.length >= p.total}
                  onClick={() => goTo(p.next ? { cursor: p.next, skip: undefined } : { skip: String(skip + pageSize) })}
                >
                  Next
                </Button>
              </Group>
            </Group>
          </>
        )}
      </Loadable>
    </Stack>
  );
}
