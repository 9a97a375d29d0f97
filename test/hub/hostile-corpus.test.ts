// Issue 10's corpus of hostile inputs (test/fixtures/hostile/manifest.json) driven end to end against one real hub
// process: HL7 frames on its MLLP port, DICOM PDUs on its SCP, FHIR, STOW-RS and channel definitions over HTTP,
// each answer compared with the manifest's, and at the end the proof that none of it hurt: /health 200, a good
// ORM still ACKed AA, C-ECHO still answered. Binary inputs are built here (raw sockets, not dcmtk, because dcmtk
// will not send a broken PDU); text inputs are files in the fixture folder.
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import { encodeCStoreRq, decodeCommand } from '../../dicom/command.ts';
import { encodeAssociateRq, encodeReleaseRq, pDataHeader, pduHeader, pduType } from '../../dicom/pdu.ts';
import { decodeHl7 } from '../../hl7/charset.ts';
import { Hl7Message } from '../../hl7/message.ts';
import { encodeFrame } from '../../hl7/mllp-framer.ts';
import { buildDataset, buildPart10, ctImageStorage, spec, uid } from '../dicom/make-instance.ts';
import { runTool } from '../dicom/peers.ts';
import { hostileOrder } from '../support/hostile-hl7.ts';
import { api, freePort, repoRoot, startHub, stopHub, waitHealthy, type HubProcess } from '../support/hub-process.ts';
import { dicomTestConfig, hubAe, valleyFacility } from './dicom-support.ts';

const folder = path.join(repoRoot, 'test', 'fixtures', 'hostile');

interface Hl7Case {
  name: string;
  file?: string;
  generate?: string;
  frame?: boolean;
  expect: { closed?: true; msa?: string; err?: string; text?: string };
}

interface DicomCase {
  name: string;
  generate: string;
  expect: { pdu?: 'A-ABORT' | 'A-ASSOCIATE-RJ'; result?: number; source?: number; reason?: number; status?: string };
}

interface HttpCase {
  name: string;
  method: string;
  path: string;
  contentType?: string;
  file?: string;
  generate?: string;
  expect: { status: number; kind: 'problem' | 'outcome' | 'stow'; text: string; path?: string };
}

interface ChannelCase {
  name: string;
  file: string;
  expect: { status: number; path: string };
}

const manifest = JSON.parse(await readFile(path.join(folder, 'manifest.json'), 'utf8')) as {
  hl7: Hl7Case[];
  dicom: DicomCase[];
  http: HttpCase[];
  channels: ChannelCase[];
};

let hub: HubProcess;
let mllpPort: number;

test.before(async () => {
  mllpPort = await freePort();
  const channel = JSON.parse(await readFile(path.join(repoRoot, 'config', 'channels', 'orders-mllp.json'), 'utf8')) as {
    source: { settings: Record<string, unknown> };
    destinations: Array<{ name: string }>;
  };
  channel.source.settings['port'] = mllpPort;
  channel.destinations = channel.destinations.filter((destination) => destination.name === 'exams');
  hub = await startHub({
    config: dicomTestConfig,
    facilities: [await valleyFacility()],
    channels: [{ id: 'orders-mllp', ...channel }],
  });
  await waitHealthy(hub);
});

test.after.always(async () => {
  if (hub) await stopHub(hub, 'SIGKILL');
});

// ---- raw sockets ----------------------------------------------------------------------------------------------

interface Conversation {
  received: Buffer;
  closed: boolean;
}

/**
 * Writes `bytes` (then FIN when `end`), reads until the hub closes or `enough` says the answer is complete. The
 * guard timer only keeps a hub that never answers from hanging the run; nothing here measures time.
 */
async function converse(port: number, bytes: Buffer, end: boolean, enough: (data: Buffer) => boolean) {
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  return new Promise<Conversation>((resolve) => {
    const guard = setTimeout(() => finish(false), 30_000);
    const finish = (closed: boolean) => {
      clearTimeout(guard);
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), closed });
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (enough(Buffer.concat(chunks))) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.write(bytes);
    if (end) socket.end();
  });
}

// ---- HL7 ------------------------------------------------------------------------------------------------------

function hl7Input(item: Hl7Case): Promise<Buffer> | Buffer {
  if (item.file !== undefined) return readFile(path.join(folder, item.file));
  switch (item.generate) {
    case 'truncated-frame':
      return Buffer.concat([Buffer.from([0x0b]), Buffer.from(hostileOrder(1, { controlId: 'CUT' }).slice(0, 90))]);
    case 'ten-thousand-repetitions':
      return Buffer.from(hostileOrder(10_000, { controlId: 'REPS-10K' }), 'latin1');
    case 'binary-garbage':
      // Every byte value but the start block 0x0B, in a fixed scrambled order.
      return Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37 + 11) % 256).map((b) => (b === 0x0b ? 0 : b)));
    case 'nul-bytes':
      return Buffer.alloc(10 * 1024);
    case 'empty-frame':
      return encodeFrame(Buffer.alloc(0));
    default:
      throw new Error(`no HL7 generator ${item.generate}`);
  }
}

/** ERR-3.1 (v2.5 on) or ERR-1.4.1 before (ch. 2.15.5). */
function errorCode(ack: Hl7Message): string | undefined {
  return /^2\.[5-9]/.test(ack.get('MSH-12') ?? '') ? ack.get('ERR-3.1') : ack.get('ERR-1.4.1');
}

const frameEnd = Buffer.from([0x1c, 0x0d]);

for (const item of manifest.hl7) {
  test.serial(`HL7: ${item.name}`, async (t) => {
    const input = await hl7Input(item);
    const bytes = item.frame === true ? encodeFrame(input) : input;
    const closing = item.expect.closed === true;
    const reply = await converse(mllpPort, bytes, closing && item.generate === 'truncated-frame', (data) =>
      closing ? false : data.includes(frameEnd),
    );
    if (closing) {
      t.true(reply.closed, 'the hub closed the connection');
      t.is(reply.received.length, 0, 'without a reply');
      return;
    }
    const start = reply.received.indexOf(0x0b);
    const stop = reply.received.indexOf(frameEnd);
    t.true(start >= 0 && stop > start, `an ACK frame came back (got ${reply.received.length} bytes)`);
    const ack = Hl7Message.parse(decodeHl7(reply.received.subarray(start + 1, stop)).text);
    t.is(ack.get('MSA-1'), item.expect.msa);
    if (item.expect.err !== undefined) t.is(errorCode(ack), item.expect.err);
    if (item.expect.text !== undefined) t.regex(ack.get('ERR-8') ?? '', new RegExp(item.expect.text));
  });
}

// ---- DICOM ----------------------------------------------------------------------------------------------------

const explicitLittle = '1.2.840.10008.1.2.1';

function associateRq(callingAe: string, calledAe = hubAe): Buffer {
  return encodeAssociateRq({
    calledAe,
    callingAe,
    maxPduLength: 16384,
    contexts: [{ id: 1, abstractSyntax: ctImageStorage, transferSyntaxes: [explicitLittle] }],
  });
}

function pdv(command: boolean, value: Buffer): Buffer {
  return Buffer.concat([pDataHeader(1, value.length, command, true), value]);
}

/** The whole PDUs at the start of `data`. */
function pdus(data: Buffer): Array<{ type: number; body: Buffer }> {
  const found: Array<{ type: number; body: Buffer }> = [];
  let offset = 0;
  while (offset + 6 <= data.length) {
    const length = data.readUInt32BE(offset + 2);
    if (offset + 6 + length > data.length) break;
    found.push({ type: data[offset] ?? 0, body: data.subarray(offset + 6, offset + 6 + length) });
    offset += 6 + length;
  }
  return found;
}

const pduNames = new Map<number, string>([
  [pduType.associateAc, 'A-ASSOCIATE-AC'],
  [pduType.associateRj, 'A-ASSOCIATE-RJ'],
  [pduType.pData, 'P-DATA-TF'],
  [pduType.releaseRp, 'A-RELEASE-RP'],
  [pduType.abort, 'A-ABORT'],
]);

/** Sends one PDU stream and returns the first PDU answered. */
async function firstPdu(bytes: Buffer): Promise<{ type: number; body: Buffer } | undefined> {
  const reply = await converse(hub.dicomPort, bytes, false, (data) => pdus(data).length > 0);
  return pdus(reply.received)[0];
}

/** Associates as the facility's CT, sends one C-STORE of `dataSet` for `sopInstanceUid`, returns the status. */
async function storeStatus(sopInstanceUid: string, dataSet: Buffer): Promise<number> {
  const socket = net.connect({ host: '127.0.0.1', port: hub.dicomPort, noDelay: true });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  let buffered = Buffer.alloc(0);
  const waiting: Array<() => void> = [];
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    waiting.shift()?.();
  });
  const next = async (): Promise<{ type: number; body: Buffer }> => {
    for (;;) {
      const [pdu] = pdus(buffered);
      if (pdu !== undefined) {
        buffered = buffered.subarray(6 + pdu.body.length);
        return pdu;
      }
      if (socket.destroyed) throw new Error('the hub closed the association');
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };
  try {
    socket.write(associateRq('VALLEY_CT'));
    const ac = await next();
    if (ac.type !== pduType.associateAc) throw new Error(`expected A-ASSOCIATE-AC, got 0x${ac.type.toString(16)}`);
    socket.write(pdv(true, encodeCStoreRq(1, ctImageStorage, sopInstanceUid)));
    socket.write(pdv(false, dataSet));
    const response = await next();
    // PDV item header: length (4), context id, control header (PS3.8 9.3.5.1).
    const status = decodeCommand(response.body.subarray(6)).status;
    socket.write(encodeReleaseRq());
    await next();
    return status;
  } finally {
    socket.destroy();
  }
}

function dicomInput(name: string): Buffer {
  switch (name) {
    case 'huge-pdu-length':
      return Buffer.concat([pduHeader(pduType.associateRq, 0xfffffff0), Buffer.alloc(64)]);
    case 'p-data-before-association':
      return pdv(true, encodeCStoreRq(1, ctImageStorage, uid()));
    case 'unknown-pdu-type':
      return Buffer.concat([pduHeader(0x99, 4), Buffer.alloc(4)]);
    case 'unknown-calling-ae':
      return associateRq('EVIL_SCANNER');
    case 'wrong-called-ae':
      return associateRq('VALLEY_CT', 'NOT_THE_HUB');
    case 'truncated-associate-rq': {
      const full = associateRq('VALLEY_CT');
      const cut = full.subarray(0, full.length - 40);
      cut.writeUInt32BE(cut.length - 6, 2);
      return Buffer.from(cut);
    }
    default:
      throw new Error(`no DICOM generator ${name}`);
  }
}

for (const item of manifest.dicom) {
  test.serial(`DICOM: ${item.name}`, async (t) => {
    if (item.expect.status !== undefined) {
      const instance = spec({ pixelBytes: 1024 });
      const status =
        item.generate === 'garbage-data-set'
          ? await storeStatus(instance.sopInstanceUid, Buffer.from('not a data set, only words. '.repeat(40)))
          : await storeStatus(uid(), buildDataset(instance));
      t.is(`0x${status.toString(16).padStart(4, '0')}`, item.expect.status);
      return;
    }
    const answer = await firstPdu(dicomInput(item.generate));
    t.is(
      answer === undefined ? 'nothing' : (pduNames.get(answer.type) ?? `0x${answer.type}`),
      item.expect.pdu ?? 'nothing',
    );
    if (answer === undefined || item.expect.pdu !== 'A-ASSOCIATE-RJ') return;
    // A-ASSOCIATE-RJ body: reserved, result, source, reason/diag (PS3.8 9.3.4).
    t.deepEqual(
      { result: answer.body[1], source: answer.body[2], reason: answer.body[3] },
      { result: item.expect.result, source: item.expect.source, reason: item.expect.reason },
    );
  });
}

// ---- HTTP -----------------------------------------------------------------------------------------------------

function multipart(boundary: string, parts: Array<{ type: string; body: Buffer }>): Buffer {
  const pieces: Buffer[] = [];
  for (const part of parts)
    pieces.push(Buffer.from(`--${boundary}\r\nContent-Type: ${part.type}\r\n\r\n`), part.body, Buffer.from('\r\n'));
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(pieces);
}

function httpInput(name: string): { body: Buffer; contentType?: string } {
  const part10 = buildPart10(spec({ pixelBytes: 1024, patientId: 'MRN-STOW-H' }));
  switch (name) {
    case 'deep-json':
      return {
        body: Buffer.from(`{"resourceType":"Patient","extension":${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
      };
    case 'stow-wrong-boundary':
      return { body: multipart('another-boundary', [{ type: 'application/dicom', body: part10 }]) };
    case 'stow-long-boundary': {
      const boundary = 'b'.repeat(300);
      return {
        body: multipart(boundary, [{ type: 'application/dicom', body: part10 }]),
        contentType: `multipart/related; type="application/dicom"; boundary=${boundary}`,
      };
    }
    case 'stow-text-part':
      return { body: multipart('hostile-part', [{ type: 'text/plain', body: Buffer.from('hello, PACS\n') }]) };
    case 'stow-text-as-dicom':
      return {
        body: multipart('hostile-part', [{ type: 'application/dicom', body: Buffer.from('MSH|^~\\&|not DICOM\r') }]),
      };
    case 'broken-preamble': {
      // PS3.10 7.1: 128 bytes of preamble, then "DICM".
      part10.write('DICX', 128, 'latin1');
      return { body: part10 };
    }
    case 'cut-meta-header':
      // The preamble, "DICM" and the group length, then the file stops in (0002,0001).
      return { body: part10.subarray(0, 150) };
    default:
      throw new Error(`no HTTP generator ${name}`);
  }
}

interface OutcomeBody {
  resourceType?: string;
  issue?: Array<{ details?: { text?: string }; diagnostics?: string; expression?: string[] }>;
}

for (const item of manifest.http) {
  test.serial(`HTTP: ${item.name}`, async (t) => {
    const generated = item.generate === undefined ? undefined : httpInput(item.generate);
    const body = item.file === undefined ? generated?.body : await readFile(path.join(folder, item.file));
    const contentType = generated?.contentType ?? item.contentType;
    const headers: Record<string, string> = contentType === undefined ? {} : { 'content-type': contentType };
    const response = await api(hub, item.path, {
      method: item.method,
      headers,
      ...(body === undefined ? {} : { body: new Uint8Array(body) }),
    });
    const text = await response.text();
    t.is(response.status, item.expect.status, text.slice(0, 300));
    const pattern = new RegExp(item.expect.text);
    if (item.expect.kind === 'stow') {
      t.regex(response.headers.get('warning') ?? '', pattern);
      const answer = JSON.parse(text) as Record<string, { Value?: unknown[] }>;
      t.true((answer['00081198']?.Value?.length ?? 0) > 0, 'a FailedSOPSequence item');
      return;
    }
    if (item.expect.kind === 'problem') {
      t.regex(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
      const problem = JSON.parse(text) as { status?: number; detail?: string; path?: string };
      t.is(problem.status, item.expect.status);
      t.regex(problem.detail ?? '', pattern);
      if (item.expect.path !== undefined) t.is(problem.path, item.expect.path);
      return;
    }
    const outcome = JSON.parse(text) as OutcomeBody;
    t.is(outcome.resourceType, 'OperationOutcome');
    const issue = outcome.issue?.[0];
    t.regex(`${issue?.details?.text ?? ''} ${issue?.diagnostics ?? ''}`, pattern);
    if (item.expect.path !== undefined) t.deepEqual(issue?.expression, [item.expect.path]);
  });
}

// ---- channel definitions --------------------------------------------------------------------------------------

for (const item of manifest.channels) {
  test.serial(`channel definition: ${item.name}`, async (t) => {
    const text = await readFile(path.join(folder, item.file), 'utf8');
    const id = (JSON.parse(text) as { id: string }).id;
    const response = await api(hub, `/api/channels/${id}`, { method: 'PUT', body: text });
    const problem = (await response.json()) as { detail?: string; path?: string };
    t.is(response.status, item.expect.status, problem.detail);
    t.is(problem.path, item.expect.path);
    t.is((await api(hub, `/api/channels/${id}`)).status, 404, 'nothing was saved');
  });
}

// ---- afterwards -----------------------------------------------------------------------------------------------

test.serial('after the whole corpus the hub is healthy, ACKs a good ORM with AA and answers C-ECHO', async (t) => {
  t.is(hub.child.exitCode, null, 'the hub process is still running');
  t.is((await api(hub, '/health')).status, 200);
  const order = Buffer.from(
    hostileOrder(1, { controlId: 'GOOD-AFTER', repetition: 'MRN-GOOD^^^VALLEYGEN^MR' }),
    'latin1',
  );
  const reply = await converse(mllpPort, encodeFrame(order), false, (data) => data.includes(frameEnd));
  const start = reply.received.indexOf(0x0b);
  const ack = Hl7Message.parse(decodeHl7(reply.received.subarray(start + 1, reply.received.indexOf(frameEnd))).text);
  t.is(ack.get('MSA-1'), 'AA');
  const echo = await runTool('echoscu', ['-aet', 'VALLEY_CT', '-aec', hubAe, '127.0.0.1', String(hub.dicomPort)]);
  t.is(echo.code, 0, echo.stderr);
});
