// Loading, empty and error states, the same on every screen: a screen hands its Loaded<T> to <Loadable> and
// renders only the happy path. Errors show the hub's own sentence (never a stack trace) and a way to retry.
import { Alert, Button, Center, Group, Loader, Text } from '@mantine/core';
import type { ReactNode } from 'react';
import { ApiError, messageOf } from '../api/client.ts';
import type { Loaded } from './use-load.ts';

export function ErrorNote({ error, onRetry, title }: { error: unknown; onRetry?: () => void; title?: string }) {
  const forbidden = error instanceof ApiError && error.status === 403;
  return (
    <Alert color="red" variant="light" title={title ?? (forbidden ? 'Not allowed' : 'Could not load')} role="alert">
      <Group justify="space-between" wrap="nowrap" align="flex-start">
        <Text size="sm">{messageOf(error)}</Text>
        {onRetry && !forbidden && (
          <Button size="xs" variant="default" onClick={onRetry}>
            Try again
          </Button>
        )}
      </Group>
    </Alert>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <Center py="xl">
      <Text c="dimmed" size="sm">
        {children}
      </Text>
    </Center>
  );
}

export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <Center py="xl" aria-busy="true">
      <Group gap="xs">
        <Loader size="sm" />
        <Text c="dimmed" size="sm">
          {label}…
        </Text>
      </Group>
    </Center>
  );
}

interface LoadableProps<T> {
  loaded: Loaded<T>;
  /** When the data is there but holds nothing to show. */
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  children: (data: T) => ReactNode;
}

/** Keeps showing the last data while a poll reloads; shows the error above it if a reload failed. */
export function Loadable<T>({ loaded, isEmpty, empty, children }: LoadableProps<T>) {
  const { data, error, reload } = loaded;
  if (data === undefined) {
    if (error !== undefined) return <ErrorNote error={error} onRetry={reload} />;
    return <Loading />;
  }
  return (
    <>
      {error !== undefined && <ErrorNote error={error} onRetry={reload} title="Could not refresh" />}
      {isEmpty?.(data) ? <Empty>{empty ?? 'Nothing here yet.'}</Empty> : children(data)}
    </>
  );
}
