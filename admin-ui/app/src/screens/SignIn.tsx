// Sign-in with user name and password. A locked account (429) says how long to wait; a wrong password says only
// that the name or password is wrong, as the hub does, so the screen does not tell which names exist.
import { Alert, Button, Center, Paper, PasswordInput, Stack, TextInput, Title } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { ApiError, messageOf } from '../api/client.ts';
import { useSession } from '../session.tsx';

export function SignIn() {
  const { signIn, notice } = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [failure, setFailure] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setFailure(undefined);
    try {
      await signIn(username, password);
    } catch (error) {
      setFailure(reason(error));
      setPassword('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <Center mih="100vh" bg="gray.1" p="md">
      <Paper component="form" onSubmit={submit} withBorder shadow="sm" p="xl" w={380} aria-labelledby="sign-in-title">
        <Stack>
          <Title order={1} size="h3" id="sign-in-title">
            Sign in to the RSO hub
          </Title>
          {notice && !failure && (
            <Alert color="blue" variant="light">
              {notice}
            </Alert>
          )}
          {failure && (
            <Alert color="red" variant="light" role="alert">
              {failure}
            </Alert>
          )}
          <TextInput
            label="User name"
            autoComplete="username"
            required
            autoFocus
            value={username}
            onChange={(e) => setUsername(e.currentTarget.value)}
          />
          <PasswordInput
            label="Password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
          />
          <Button type="submit" loading={busy}>
            Sign in
          </Button>
        </Stack>
      </Paper>
    </Center>
  );
}

function reason(error: unknown): string {
  if (!(error instanceof ApiError)) return messageOf(error);
  if (error.status === 401) return 'The user name or password is wrong.';
  if (error.status === 429) {
    const wait = error.retryAfter === undefined ? '' : ` Try again in ${Math.ceil(error.retryAfter / 60)} min.`;
    return `Too many wrong passwords: sign-in is locked for a while.${wait}`;
  }
  return error.message;
}
