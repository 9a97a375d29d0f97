// Who is signed in, for the whole app. The session itself is the hub's HttpOnly cookie; the app holds only the
// user it names and the CSRF token to send with changes. What a user may change is decided here from the roles,
// so a screen asks `may('channels')` rather than listing roles; the hub checks again on every request.
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { ApiError, get, onUnauthorized, request, setCsrfToken } from './api/client.ts';
import type { Role, SessionAnswer, SessionUser } from './api/types.ts';

/** What a user can change; reading is open to every signed-in staff user, limited to their facilities. */
export type Area = 'channels' | 'messages' | 'queues' | 'facilities' | 'users' | 'audit';

const writers: Record<Area, readonly Role[]> = {
  channels: ['admin', 'analyst'],
  messages: ['admin', 'analyst'],
  queues: ['admin', 'analyst'],
  facilities: ['admin', 'client-admin'],
  users: ['admin'],
  audit: [],
};

export function mayChange(user: SessionUser | undefined, area: Area): boolean {
  return user?.roles.some((role) => writers[area].includes(role)) ?? false;
}

interface SessionValue {
  /** undefined while the first check runs. */
  state: 'checking' | 'signed-out' | 'signed-in';
  user: SessionUser | undefined;
  /** Why the last session ended by itself, shown on the sign-in screen. */
  notice: string | undefined;
  signIn(username: string, password: string): Promise<void>;
  signOut(): Promise<void>;
  changePassword(current: string, next: string): Promise<void>;
  may(area: Area): boolean;
}

const SessionContext = createContext<SessionValue | undefined>(undefined);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionValue['state']>('checking');
  const [user, setUser] = useState<SessionUser>();
  const [notice, setNotice] = useState<string>();

  const accept = useCallback((answer: SessionAnswer) => {
    setCsrfToken(answer.csrfToken);
    setUser(answer.user);
    setNotice(undefined);
    setState('signed-in');
  }, []);

  const end = useCallback((reason?: string) => {
    setCsrfToken(undefined);
    setUser(undefined);
    setNotice(reason);
    setState('signed-out');
  }, []);

  useEffect(() => {
    onUnauthorized(() => end('Your session has ended. Sign in again to continue.'));
    get<SessionAnswer>('/api/session').then(accept, () => end());
    return () => onUnauthorized(undefined);
  }, [accept, end]);

  const value = useMemo<SessionValue>(
    () => ({
      state,
      user,
      notice,
      async signIn(username, password) {
        accept(await request<SessionAnswer>('POST', '/api/session', { username, password }));
      },
      async signOut() {
        try {
          await request('DELETE', '/api/session');
        } catch (error) {
          if (!(error instanceof ApiError && error.status === 401)) throw error;
        }
        end();
      },
      async changePassword(current, next) {
        await request('POST', '/api/session/password', { current, next });
        accept(await get<SessionAnswer>('/api/session'));
      },
      may: (area) => mayChange(user, area),
    }),
    [state, user, notice, accept, end],
  );
  return <SessionContext value={value}>{children}</SessionContext>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}
