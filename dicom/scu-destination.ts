// Destination connector `dicom-scu`: routes a complete study to a PACS (the facility's radiologist PACS, or a
// fixed one). Its content is an exam event (composition/exam-events-source.ts, usually `exam.study-complete`); the
// study's files come from the study index and go in ONE association (dicom/scu.ts). Each instance's outcome at
// this destination is kept in the index, so a partial failure is a `retry` whose next attempt sends only what
// the PACS has not stored yet, and a repeated event for a study already delivered sends nothing. An analyst's
// resend does the same (only what is not confirmed stored) unless it asks for all of it (OutboundMessage.resendAll:
// the PACS lost the study): then the first attempt sends every instance, and its retries only what is missing.
//
// settings: { target: 'facility-pacs' | { aeTitle, host, port, tls? }, callingAe?, connectTimeoutMs?, responseTimeoutMs?,
//   associations? } — `associations` (1-16, default 1) splits a study into that many runs of consecutive instances
// sent over parallel associations, as dcm4chee offers: a PACS that stores each association on its own thread
// takes a large study sooner. Outcomes stay per instance, whichever association carried it.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type {
  DestinationConnector,
  DestinationConnectorType,
  DestinationContext,
  OutboundMessage,
  SendResult,
} from '../channels/connector.ts';
import type { Facility, PacsEndpoint } from '../exams/facility.ts';
import type { ExamService } from '../exams/service.ts';
import { errorText, type Logger } from '../runtime/log.ts';
import {
  expectInteger,
  expectKeys,
  expectObject,
  expectPort,
  expectString,
  join,
  optionalString,
  ValidationError,
} from '../runtime/validate.ts';
import { parseSenderTlsSettings } from '../runtime/listener-settings.ts';
import { type ScuPeer, sendFiles, type SendOutcome } from './scu.ts';
import { isStored, type DeliveryRecord, type InstanceRecord, type StudyIndex } from './study-index.ts';
import { canCoerce, CoercionUnsupported, writeCoerced, type TagChanges } from './tag-coercion.ts';
import { isWhole } from './whole-instance.ts';

export interface ScuDestinationSettings {
  target: 'facility-pacs' | PacsEndpoint;
  callingAe: string;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  associations: number;
}

export interface ScuDestinationDeps {
  exams: ExamService;
  /** Absent only in a registry built to check definitions (no store behind it): every send then fails. */
  index?: StudyIndex;
  /** The hub's own AE title (config.dicom.aeTitle), used when the settings name none. */
  defaultCallingAe: string;
}

function parseAe(value: unknown, at: string): string {
  const ae = expectString(value, at);
  if (!/^[\x20-\x5b\x5d-\x7e]{1,16}$/.test(ae) || ae.trim() === '')
    throw new ValidationError(at, 'expected an AE title of 1 to 16 printable characters without "\\"');
  return ae.trim();
}

function parseSettings(defaultCallingAe: string) {
  return (input: unknown, at: string): ScuDestinationSettings => {
    const raw = expectObject(input, at);
    expectKeys(raw, at, ['target', 'callingAe', 'connectTimeoutMs', 'responseTimeoutMs', 'associations']);
    const targetAt = join(at, 'target');
    let target: ScuDestinationSettings['target'];
    if (raw['target'] === 'facility-pacs') target = 'facility-pacs';
    else if (typeof raw['target'] === 'object' && raw['target'] !== null) {
      const pacs = expectObject(raw['target'], targetAt);
      expectKeys(pacs, targetAt, ['aeTitle', 'host', 'port', 'tls']);
      target = {
        aeTitle: parseAe(pacs['aeTitle'], join(targetAt, 'aeTitle')),
        host: expectString(pacs['host'], join(targetAt, 'host')),
        port: expectPort(pacs['port'], join(targetAt, 'port')),
      };
      const tls = parseSenderTlsSettings(pacs['tls'], join(targetAt, 'tls'));
      if (tls !== undefined) target.tls = tls;
    } else throw new ValidationError(targetAt, `expected "facility-pacs" or { aeTitle, host, port }`);
    const callingAe = optionalString(raw['callingAe'], join(at, 'callingAe'));
    return {
      target,
      callingAe: callingAe === undefined ? defaultCallingAe : parseAe(callingAe, join(at, 'callingAe')),
      connectTimeoutMs: expectInteger(raw['connectTimeoutMs'] ?? 10_000, join(at, 'connectTimeoutMs'), 100, 600_000),
      responseTimeoutMs: expectInteger(
        raw['responseTimeoutMs'] ?? 60_000,
        join(at, 'responseTimeoutMs'),
        100,
        3_600_000,
      ),
      associations: expectInteger(raw['associations'] ?? 1, join(at, 'associations'), 1, 16),
    };
  };
}

interface StudyEvent {
  examNumber: string;
  facility: string;
  studyInstanceUid: string;
}

/** The exam event as the channel carries it; anything else is a permanent failure of this message. */
export function studyEventOf(content: string): StudyEvent | string {
  let event: unknown;
  try {
    event = JSON.parse(content);
  } catch {
    return 'content is not JSON (expected an exam event)';
  }
  if (typeof event !== 'object' || event === null) return 'content is not an exam event object';
  const { examNumber, facility, data } = event as {
    examNumber?: unknown;
    facility?: unknown;
    data?: { studyInstanceUid?: unknown };
  };
  if (typeof examNumber !== 'string' || examNumber === '') return 'examNumber: missing in the exam event';
  if (typeof facility !== 'string' || facility === '') return 'facility: missing in the exam event';
  const studyInstanceUid = data?.studyInstanceUid;
  if (typeof studyInstanceUid !== 'string' || studyInstanceUid === '')
    return 'data.studyInstanceUid: missing (expected an exam.study-complete event)';
  return { examNumber, facility, studyInstanceUid };
}

class ScuDestination implements DestinationConnector {
  readonly #deps: ScuDestinationDeps;
  readonly #settings: ScuDestinationSettings;
  readonly #context: DestinationContext;
  readonly #log: Logger;

  constructor(deps: ScuDestinationDeps, settings: ScuDestinationSettings, context: DestinationContext) {
    this.#deps = deps;
    this.#settings = settings;
    this.#context = context;
    this.#log = context.log.child({ connector: 'dicom-scu' });
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    const event = studyEventOf(message.content);
    if (typeof event === 'string') return { status: 'failed', error: event };
    const index = this.#deps.index;
    if (index === undefined) return { status: 'failed', error: 'this hub has no study index (DICOM is not wired)' };
    const facility = await this.#deps.exams.facilities.get(event.facility);
    if (!facility) return { status: 'failed', error: `facility ${event.facility} is not known` };
    const pacs = this.#settings.target === 'facility-pacs' ? facility.radiologistPacs : this.#settings.target;
    if (!pacs)
      return { status: 'failed', error: `facility ${facility.code} has no radiologistPacs (target facility-pacs)` };
    const instances = await index.instancesOf(event.studyInstanceUid);
    if (instances.length === 0)
      return { status: 'failed', error: `study ${event.studyInstanceUid}: no instances in the study index` };
    const destination = `${this.#context.channelId}/${this.#context.destinationName}>${pacs.aeTitle}@${pacs.host}:${pacs.port}`;
    const sendAll = message.resendAll === true && message.attempt === 1;
    const before = sendAll
      ? new Map<string, DeliveryRecord>()
      : await index.delivered(destination, event.studyInstanceUid);
    const unsent = instances.filter((instance) => !isStored(before.get(instance._id)?.state));
    // An instance whose file is short was never acknowledged to its sender (a hub killed mid-store): it stays
    // out, or the PACS would wait for the rest of it and time out the whole study on every retry. The sender's
    // resend replaces it and re-opens the study, which is then routed again.
    const whole = await Promise.all(unsent.map((instance) => isWhole(instance)));
    const pending = unsent.filter((_, i) => whole[i]);
    const incomplete = unsent.filter((_, i) => !whole[i]);
    if (incomplete.length > 0)
      this.#log.warn('incomplete instances left out of the study', {
        studyInstanceUid: event.studyInstanceUid,
        instances: incomplete.length,
      });
    const routed = incomplete.length === 0 ? instances : instances.filter((instance) => !incomplete.includes(instance));
    if (pending.length === 0 && incomplete.length === 0)
      return {
        status: 'sent',
        response: `${instances.length}/${instances.length} instances stored at ${pacs.aeTitle} (already)`,
      };
    const changes = pending.length === 0 ? undefined : await this.#coercion(facility, event);
    const outcomes: Map<InstanceRecord, SendOutcome> =
      pending.length === 0 ? new Map() : await this.#sendPending(pending, pacs, changes);
    // Issued together (one record per instance, each its own _id): the embedded engine commits them with one
    // fdatasync instead of one per instance.
    await Promise.all(
      [...outcomes].map(([instance, outcome]) =>
        index.recordDelivery(destination, event.studyInstanceUid, instance._id, outcome),
      ),
    );
    return withIncomplete(summarize(routed, before, outcomes, pacs.aeTitle), incomplete);
  }

  /** What the facility's settings put in the copies: the exam number as PatientID, the order's accession. */
  async #coercion(facility: Facility, event: StudyEvent): Promise<TagChanges | undefined> {
    const changes: TagChanges = {};
    if (facility.coercion?.patientIdFromExamNumber) changes.patientId = event.examNumber;
    if (facility.coercion?.accessionFromOrder) {
      const accession = await this.#orderAccession(event);
      if (accession !== undefined) changes.accessionNumber = accession;
    }
    return Object.keys(changes).length === 0 ? undefined : changes;
  }

  /**
   * The accession number the order gave the exam. An exam made from images carries the images' accession as an
   * identifier too; the order's is the one that differs from the study's (the first when none does).
   */
  async #orderAccession(event: StudyEvent): Promise<string | undefined> {
    const exam = await this.#deps.exams.get(event.examNumber);
    const accessions = exam?.identifiers.filter((id) => id.kind === 'accession').map((id) => id.value) ?? [];
    const studyAccession = (await this.#deps.index?.study(event.studyInstanceUid))?.accessionNumber;
    return accessions.find((value) => value !== studyAccession) ?? accessions[0];
  }

  async #sendPending(
    pending: InstanceRecord[],
    pacs: PacsEndpoint,
    changes: TagChanges | undefined,
  ): Promise<Map<InstanceRecord, SendOutcome>> {
    const copies = changes === undefined ? undefined : await mkdtemp(path.join(os.tmpdir(), 'rso-scu-'));
    try {
      const files =
        copies === undefined || changes === undefined
          ? pending.map((instance) => instance.filePath)
          : await this.#coerced(pending, copies, changes);
      const peer: ScuPeer = {
        host: pacs.host,
        port: pacs.port,
        calledAe: pacs.aeTitle,
        callingAe: this.#settings.callingAe,
        ...(pacs.tls === undefined ? {} : { tls: pacs.tls }),
      };
      const options = {
        log: this.#log,
        connectTimeoutMs: this.#settings.connectTimeoutMs,
        responseTimeoutMs: this.#settings.responseTimeoutMs,
      };
      const runs = consecutiveRuns(files, this.#settings.associations);
      const outcomes = (await Promise.all(runs.map((run) => sendFiles(peer, run, options)))).flat();
      return new Map(
        pending.map((instance, i) => [
          instance,
          outcomes[i] ?? { filePath: files[i] ?? instance.filePath, state: 'not-sent', reason: 'no outcome' },
        ]),
      );
    } finally {
      if (copies !== undefined) await rm(copies, { recursive: true, force: true });
    }
  }

  /** Copies with the changed tags; an instance that cannot be coerced goes as stored (and is logged). */
  async #coerced(pending: InstanceRecord[], dir: string, changes: TagChanges): Promise<string[]> {
    const files: string[] = [];
    for (const instance of pending) {
      if (!canCoerce(instance.transferSyntaxUid)) {
        this.#log.warn('instance sent without tag coercion', {
          sopInstanceUid: instance._id,
          transferSyntaxUid: instance.transferSyntaxUid,
          reason: 'transfer syntax not coerced (deflate/big endian)',
        });
        files.push(instance.filePath);
        continue;
      }
      const copy = path.join(dir, `${instance._id}.dcm`);
      try {
        await writeCoerced(instance.filePath, copy, changes);
        files.push(copy);
      } catch (error) {
        if (!(error instanceof CoercionUnsupported)) throw error;
        this.#log.warn('instance sent without tag coercion', {
          sopInstanceUid: instance._id,
          reason: errorText(error),
        });
        files.push(instance.filePath);
      }
    }
    return files;
  }

  async stop(): Promise<void> {}
}

/** `items` cut into at most `count` runs of consecutive items, as even as can be (a series stays together). */
export function consecutiveRuns<T>(items: readonly T[], count: number): T[][] {
  const runs = Math.max(1, Math.min(count, items.length));
  const size = Math.floor(items.length / runs);
  const longer = items.length % runs;
  const result: T[][] = [];
  let start = 0;
  for (let run = 0; run < runs; run++) {
    const end = start + size + (run < longer ? 1 : 0);
    result.push(items.slice(start, end));
    start = end;
  }
  return result;
}

/** `12/12 instances stored at RSO_PACS`, or a retry naming what is missing and why. */
function summarize(
  instances: InstanceRecord[],
  before: Map<string, { state: SendOutcome['state'] }>,
  outcomes: Map<InstanceRecord, SendOutcome>,
  ae: string,
): SendResult {
  const stateOf = (instance: InstanceRecord) => outcomes.get(instance)?.state ?? before.get(instance._id)?.state;
  const stored = instances.filter((instance) => isStored(stateOf(instance))).length;
  const warnings = [...outcomes.values()].filter((outcome) => outcome.state === 'warning').length;
  const head = `${stored}/${instances.length} instances stored at ${ae}${warnings > 0 ? ` (${warnings} with warnings)` : ''}`;
  if (stored === instances.length) return { status: 'sent', response: head };
  const missing = instances.filter((instance) => !isStored(stateOf(instance)));
  const failed = missing.filter((instance) => stateOf(instance) === 'failure').length;
  const details = missing.slice(0, 5).map((instance) => {
    const outcome = outcomes.get(instance);
    const status = outcome?.status === undefined ? '' : ` 0x${outcome.status.toString(16).padStart(4, '0')}`;
    return `${instance._id}: ${outcome?.state ?? 'not-sent'}${status}${outcome?.reason ? ` (${outcome.reason})` : ''}`;
  });
  const more = missing.length > details.length ? `; … ${missing.length - details.length} more` : '';
  const text = `${head}; ${failed} refused, ${missing.length - failed} not sent: ${details.join('; ')}${more}`;
  return { status: 'retry', error: text, response: text };
}

/** Names what was left out, so the message browser says why the study is one instance short. */
function withIncomplete(result: SendResult, incomplete: InstanceRecord[]): SendResult {
  if (incomplete.length === 0) return result;
  const named = incomplete.slice(0, 5).map((instance) => instance._id);
  const more = incomplete.length > named.length ? `, … ${incomplete.length - named.length} more` : '';
  const note = `; ${incomplete.length} incomplete instance(s) left out, never acknowledged to the sender (file short of what was received; the sender's resend routes it): ${named.join(', ')}${more}`;
  if (result.status === 'sent') return { ...result, response: `${result.response ?? ''}${note}` };
  if (result.status === 'retry')
    return { ...result, error: `${result.error}${note}`, response: `${result.response ?? ''}${note}` };
  return result;
}

export function dicomScuDestinationType(deps: ScuDestinationDeps): DestinationConnectorType<ScuDestinationSettings> {
  return {
    type: 'dicom-scu',
    parseSettings: parseSettings(deps.defaultCallingAe),
    create: (settings, context) => new ScuDestination(deps, settings, context),
  };
}
