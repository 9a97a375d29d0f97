// Changing one's password; `forced` after a first sign-in with the generated admin password, when nothing else is
// reachable until it is done. The hub decides what a good password is and says why one is refused.
import { Alert, Button, Center, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { messageOf } from '../api/client.ts';
import { useSession } from '../session.tsx';

export function ChangePassword({ forced = false }: { forced?: boolean }) {
  const { changePassword, signOut } = useSession();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [failure, setFailure] = useState<string>();
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setFailure(undefined);
    setDone(false);
    if (next !== again) return setFailure('The two new passwords differ.');
    setBusy(true);
    try {
      await changePassword(current, next);
      setDone(true);
      setCurrent('');
      setNext('');
      setAgain('');
    } catch (error) {
      setFailure(messageOf(error));
    } finally {
      setBusy(false);
    }
  };

  const form = (
    <Paper component="form" onSubmit={submit} withBorder p="xl" w={420} aria-labelledby="password-title">
      <Stack>
        <Title order={forced ? 1 : 2} size="h3" id="password-title">
          {forced ? 'Choose a new password' : 'Change your password'}
        </Title>
        {forced && <Text size="sm">This account still has its first password. Choose your own to continue.</Text>}
        {failure && (
          <Alert color="red" variant="light" role="alert">
            {failure}
          </Alert>
        )}
        {done && (
          <Alert color="teal" variant="light">
            Your password is changed.
          </Alert>
        )}
        <PasswordInput
          label="Current password"
          autoComplete="current-password"
          required
          value={current}
          onChange={(e) => setCurrent(e.currentTarget.value)}
        />
        <PasswordInput
          label="New password"
          autoComplete="new-password"
          required
          value={next}
          onChange={(e) => setNext(e.currentTarget.value)}
        />
        <PasswordInput
          label="New password again"
          autoComplete="new-password"
          required
          value={again}
          onChange={(e) => setAgain(e.currentTarget.value)}
        />
        <Button type="submit" loading={busy}>
          Change password
        </Button>
        {forced && (
          <Button variant="subtle" onClick={() => void signOut()}>
            Sign out
          </Button>
        )}
      </Stack>
    </Paper>
  );
  return forced ? (
    <Center mih="100vh" bg="gray.1" p="md">
      {form}
    </Center>
  ) : (
    form
  );
}
