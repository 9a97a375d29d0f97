// Where radiologists, transcribers and consultants work in the app, and what of the engine's console they see:
// none of it. Their work is reading and typing reports; the engine's screens would only answer 403.
import type { Role, SessionUser } from '../../api/types.ts';

const workRoles: readonly Role[] = ['radiologist', 'transcriber', 'consultant'];

/** The user has only reading roles: the console's staff sections stay hidden. */
export function readsOnly(user: SessionUser | undefined): boolean {
  return user !== undefined && user.roles.length > 0 && user.roles.every((role) => workRoles.includes(role));
}

export function readingSections(user: SessionUser | undefined): Array<{ to: string; label: string; admin?: boolean }> {
  const sections: Array<{ to: string; label: string; admin?: boolean }> = [];
  if (user?.roles.includes('radiologist')) sections.push({ to: '/reading', label: 'Reading list' });
  if (user?.roles.includes('transcriber')) sections.push({ to: '/transcription', label: 'Transcription' });
  return sections;
}

/** The first screen of a user who only reads: their own list. undefined for everyone else. */
export function readingHome(user: SessionUser | undefined): string | undefined {
  if (!readsOnly(user)) return undefined;
  return readingSections(user)[0]?.to;
}
