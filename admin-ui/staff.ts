// Who may use the engine's administration in the console: staff roles on a user or token not limited to
// facilities (those would otherwise see every facility's raw messages and configuration).
import type { Context, Middleware } from 'koa';
import { requireRole, type AuthState, type Role } from '../http/auth.ts';
import { HttpError } from '../http/http-error.ts';

export function staff(...allowed: Role[]): Middleware {
  const role = requireRole(...allowed);
  return async (ctx, next) => {
    if ((ctx.state as AuthState).user.facilities !== undefined) {
      throw new HttpError(403, 'a user limited to some facilities cannot use the engine administration', {
        code: 'forbidden',
      });
    }
    await role(ctx, next);
  };
}

/** Change channels, queues and messages. */
export const staffWriters = staff('admin', 'analyst');
/** Read them. */
export const staffReaders = staff('admin', 'analyst', 'integration', 'viewer');

export function actorOf(ctx: Context): string {
  return (ctx.state as AuthState).user.name;
}
