// A real Koa app on a loopback port with the FHIR router behind bearer-token auth, over a real embedded store:
// what a FHIR client of the hub talks to, minus the rest of the hub.
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { ExecutionContext } from 'ava';
import Koa from 'koa';
import { hashToken, TokenAuthenticator } from '../../http/auth.ts';
import { createFhirRouter } from '../../fhir/router.ts';
import { openTestHub, quietLog, type TestHub } from '../exams/setup.ts';

export const tokens = {
  integration: 'valley-ehr-token',
  reader: 'reader-token',
  otherFacility: 'other-facility-token',
  otherRadiologist: 'other-radiologist-token',
  radiologist: 'radiologist-token',
} as const;

export interface FhirServer extends TestHub {
  base: string;
  /** `T` is the resource the test expects back (an OperationOutcome when it expects a refusal); it is not checked. */
  request<T extends Resource = Resource>(
    method: string,
    pathname: string,
    options?: { body?: unknown; headers?: Record<string, string>; token?: string | null },
  ): Promise<FhirResponse<T>>;
}

/** Bodies are JSON under test, typed as the resource the test expects and checked field by field by its assertions. */
export interface FhirResponse<T extends Resource = Resource> {
  status: number;
  headers: Headers;
  body: T;
}

export async function fixture<T extends Resource = Resource>(name: string): Promise<T> {
  return JSON.parse(await readFile(path.join(import.meta.dirname, '..', 'fixtures', 'fhir', name), 'utf8')) as T;
}

/** The text of an OperationOutcome's first issue ('' when it has none, so a pattern assertion on it fails). */
export function issueText(outcome: OperationOutcome): string {
  return outcome.issue?.[0]?.details?.text ?? '';
}

/** The FHIRPath expressions of an OperationOutcome's first issue. */
export function issueExpression(outcome: OperationOutcome): string[] | undefined {
  return outcome.issue?.[0]?.expression;
}

/** The ids of a Bundle's entry resources, in order. */
export function entryIds(bundle: Bundle): Array<string | undefined> {
  return (bundle.entry ?? []).map((entry) => entry.resource?.id);
}

/** The url of a Bundle's link with this relation (`next`, `previous`, `self`), if it has one. */
export function linkUrl(bundle: Bundle, relation: string): string | undefined {
  return bundle.link?.find((link) => link.relation === relation)?.url;
}

export async function startFhirServer(t: ExecutionContext): Promise<FhirServer> {
  const hub = await openTestHub(t);
  const auth = new TokenAuthenticator([
    { name: 'valley-ehr', sha256: hashToken(tokens.integration), roles: ['integration'] },
    { name: 'viewer', sha256: hashToken(tokens.reader), roles: ['consultant'] },
    { name: 'elsewhere', sha256: hashToken(tokens.otherFacility), roles: ['customer'], facilities: ['OTHER'] },
    { name: 'rad-other', sha256: hashToken(tokens.otherRadiologist), roles: ['radiologist'], facilities: ['OTHER'] },
    { name: 'rad-chen', sha256: hashToken(tokens.radiologist), roles: ['radiologist'] },
  ]);
  const app = new Koa();
  const router = createFhirRouter({ exams: hub.exams, auth, log: quietLog });
  app.use(router.routes());
  app.use(router.allowedMethods());
  const server: Server = app.listen({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir/R4`;
  return {
    ...hub,
    base,
    async request(method, pathname, options = {}) {
      const headers: Record<string, string> = { accept: 'application/fhir+json', ...options.headers };
      const token = options.token === undefined ? tokens.integration : options.token;
      if (token !== null) headers['authorization'] = `Bearer ${token}`;
      if (options.body !== undefined) headers['content-type'] ??= 'application/fhir+json';
      const response = await fetch(`${base}${pathname}`, {
        method,
        headers,
        ...(options.body === undefined
          ? {}
          : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
    },
  };
}
