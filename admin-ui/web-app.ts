// Serves the web console (admin-ui/app, built by `npm run build:ui` into admin-ui/dist) at `/`: hashed assets
// cached for a year (a new build has new names), index.html for every other page address so deep links work,
// never cached. Every answer carries a strict CSP: scripts only from the hub, no inline script at all; styles from
// the hub plus <style> elements with this answer's nonce (Mantine writes its theme variables in one).
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Router from '@koa/router';
import type { Context } from 'koa';
import { HttpError } from '../http/http-error.ts';

export const defaultDistDir = path.join(import.meta.dirname, 'dist');

/** First path segments that belong to the hub's APIs: an unknown address there is a 404, not the app. */
const apiPrefixes = new Set(['api', 'fhir', 'dicomweb', 'health', 'metrics', 'assets']);

const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.json': 'application/json',
};

export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function secure(ctx: Context, nonce: string): void {
  ctx.set('Content-Security-Policy', contentSecurityPolicy(nonce));
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
}

async function readBuilt(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export function createWebAppRouter(distDir = defaultDistDir): Router {
  const router = new Router();

  router.get('/assets/:file', async (ctx) => {
    const name = ctx.params['file']!;
    // Only plain file names: no path separators, no dot-dot, nothing outside dist/assets.
    const type = contentTypes[path.extname(name)];
    const body =
      /^[\w.-]+$/.test(name) && !name.startsWith('.') && type
        ? await readBuilt(path.join(distDir, 'assets', name))
        : undefined;
    if (body === undefined) throw new HttpError(404, `no asset '${name}'`);
    secure(ctx, randomBytes(16).toString('base64'));
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    ctx.type = type!;
    ctx.body = body;
  });

  const page = async (ctx: Context, next: () => Promise<unknown>) => {
    const first = ctx.path.split('/')[1] ?? '';
    // An API address, or a file name (an extension that starts with a letter) that is not a built asset: not a page
    // of the app. A DICOM UID (/viewer/1.2.840...) has dots too, but only digits after them.
    if (apiPrefixes.has(first) || /\.[a-z][^/.]*$/i.test(ctx.path)) return next();
    const index = await readBuilt(path.join(distDir, 'index.html'));
    if (index === undefined) {
      throw new HttpError(503, 'the web console is not built: run `npm run build:ui` (npm start does it first)', {
        code: 'not-built',
        expose: true,
      });
    }
    const nonce = randomBytes(16).toString('base64');
    secure(ctx, nonce);
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = index
      .toString('utf8')
      .replace('<meta name="csp-nonce" content="" />', `<meta name="csp-nonce" content="${nonce}" />`);
  };
  router.get('/', page);
  router.get('/*path', page);
  return router;
}
