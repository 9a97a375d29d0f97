// Facilities: the hospitals and imaging centres the RSO reads for. A facility is how the hub recognises where
// a message came from (DICOM calling AE title, HL7 MSH-4 sending facility), who works there, which
// radiologist PACS its studies go to, where its reports go and how it is billed.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HubDb } from '../store/db.ts';
import {
  ValidationError,
  expectArray,
  expectBoolean,
  expectKeys,
  expectNumber,
  expectObject,
  expectOneOf,
  expectPort,
  expectString,
  join,
  optionalString,
  type Plain,
} from '../runtime/validate.ts';
import { InvalidInputError, NotFoundError } from './errors.ts';
import { priorities } from './exam.ts';
import { parseIdentitySystems, type IdentitySystems } from './identity-systems.ts';
import { parseReportDestinations, type ReportDestinations } from './report-destinations.ts';
import { parseDispatchTemplates, parseStaffList, type DispatchTemplates, type StaffMember } from './facility-staff.ts';
import { parseSenderTlsSettings } from '../runtime/listener-settings.ts';
import type { SenderTlsSettings } from '../runtime/tls-sender.ts';

export interface PacsEndpoint {
  aeTitle: string;
  host: string;
  port: number;
  /** DICOM over TLS (PS3.15 B.9); absent: plain TCP. */
  tls?: SenderTlsSettings;
}

/** A price for matching exams; the first matching rule wins, `*` or an absent key matches anything. */
export interface BillingRule {
  procedureCode?: string;
  modality?: string;
  priority?: string;
  amount: number;
  currency: string;
}

/** Tag changes made to copies of the facility's instances before they go to the radiologist PACS. */
export interface TagCoercion {
  /** Put the exam number in PatientID (0010,0020), so the PACS files every study of an exam under it. */
  patientIdFromExamNumber?: boolean;
  /**
   * Put the accession number the order supplied (the exam's accession identifier) in AccessionNumber
   * (0008,0050), so the PACS shows the study under the number the facility's RIS knows.
   */
  accessionFromOrder?: boolean;
}

export interface Facility {
  /** Short, stable code; also the facility key on exams and tokens. */
  code: string;
  name: string;
  /** DICOM calling AE titles of the facility's modalities/PACS (DICOM PS3.8 §9.3.2: up to 16 characters). */
  aeTitles: string[];
  /** HL7 MSH-4 sending facility values (the namespace id of the HD). */
  sendingFacilities: string[];
  technicians: StaffMember[];
  radiologists: StaffMember[];
  /** The radiologist PACS this facility's studies are routed to. */
  radiologistPacs?: PacsEndpoint;
  /** Where the facility's AEs may C-MOVE its studies to (its PACS, workstations): AE title with its address. */
  moveDestinations?: PacsEndpoint[];
  coercion?: TagCoercion;
  /** URIs of the facility's assigning authorities, order number namespaces and coding systems (identity-systems.ts). */
  identitySystems?: IdentitySystems;
  reportDestinations: ReportDestinations;
  /** Texts of the technician dispatch notices (facility-staff.ts). */
  dispatchTemplates?: DispatchTemplates;
  billingRules: BillingRule[];
  active: boolean;
}

interface FacilityDoc extends Facility {
  _id: string;
  updatedAt: string;
}

const facilityKeys = [
  'code',
  'name',
  'aeTitles',
  'sendingFacilities',
  'technicians',
  'radiologists',
  'radiologistPacs',
  'moveDestinations',
  'coercion',
  'identitySystems',
  'reportDestinations',
  'dispatchTemplates',
  'billingRules',
  'active',
];

/** Checks an untrusted facility (a config file, an admin API body); errors name the path. */
export function parseFacility(value: unknown, at = ''): Facility {
  const raw = expectObject(value, at);
  expectKeys(raw, at, facilityKeys);
  const facility: Facility = {
    code: expectCode(raw['code'], join(at, 'code')),
    name: expectString(raw['name'], join(at, 'name')),
    aeTitles: stringList(raw['aeTitles'], join(at, 'aeTitles')).map((ae, i) =>
      expectAeTitle(ae, join(join(at, 'aeTitles'), i)),
    ),
    sendingFacilities: stringList(raw['sendingFacilities'], join(at, 'sendingFacilities')),
    technicians: parseStaffList(raw['technicians'], join(at, 'technicians')),
    radiologists: parseStaffList(raw['radiologists'], join(at, 'radiologists')),
    reportDestinations: parseReportDestinations(raw['reportDestinations'], join(at, 'reportDestinations')),
    billingRules: billingList(raw['billingRules'], join(at, 'billingRules')),
    active: raw['active'] === undefined ? true : raw['active'] === true,
  };
  if (raw['radiologistPacs'] !== undefined)
    facility.radiologistPacs = parsePacs(raw['radiologistPacs'], join(at, 'radiologistPacs'));
  if (raw['moveDestinations'] !== undefined)
    facility.moveDestinations = expectArray(raw['moveDestinations'], join(at, 'moveDestinations')).map((item, i) =>
      parsePacs(item, join(join(at, 'moveDestinations'), i)),
    );
  if (raw['coercion'] !== undefined) facility.coercion = parseCoercion(raw['coercion'], join(at, 'coercion'));
  const templates = parseDispatchTemplates(raw['dispatchTemplates'], join(at, 'dispatchTemplates'));
  if (templates !== undefined) facility.dispatchTemplates = templates;
  if (raw['identitySystems'] !== undefined)
    facility.identitySystems = parseIdentitySystems(raw['identitySystems'], join(at, 'identitySystems'));
  return facility;
}

function expectCode(value: unknown, at: string): string {
  const code = expectString(value, at);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(code))
    throw new ValidationError(at, 'expected letters, digits, ".", "_" or "-" (at most 64)');
  return code;
}

function expectAeTitle(value: string, at: string): string {
  // PS3.5 §6.2: AE is at most 16 characters of the default repertoire, no backslash or control characters.
  if (value.length > 16 || !/^[\x20-\x5b\x5d-\x7e]+$/.test(value) || value.trim() === '') {
    throw new ValidationError(at, 'expected an AE title of 1 to 16 printable characters without "\\"');
  }
  return value.trim();
}

function stringList(value: unknown, at: string): string[] {
  if (value === undefined) return [];
  return expectArray(value, at).map((item, i) => expectString(item, join(at, i)));
}

function parsePacs(value: unknown, at: string): PacsEndpoint {
  const raw = expectObject(value, at);
  expectKeys(raw, at, ['aeTitle', 'host', 'port', 'tls']);
  const pacs: PacsEndpoint = {
    aeTitle: expectAeTitle(expectString(raw['aeTitle'], join(at, 'aeTitle')), join(at, 'aeTitle')),
    host: expectString(raw['host'], join(at, 'host')),
    port: expectPort(raw['port'], join(at, 'port')),
  };
  const tls = parseSenderTlsSettings(raw['tls'], join(at, 'tls'));
  if (tls !== undefined) pacs.tls = tls;
  return pacs;
}

function parseCoercion(value: unknown, at: string): TagCoercion {
  const raw = expectObject(value, at);
  expectKeys(raw, at, ['patientIdFromExamNumber', 'accessionFromOrder']);
  const coercion: TagCoercion = {};
  if (raw['patientIdFromExamNumber'] !== undefined)
    coercion.patientIdFromExamNumber = expectBoolean(
      raw['patientIdFromExamNumber'],
      join(at, 'patientIdFromExamNumber'),
    );
  if (raw['accessionFromOrder'] !== undefined) {
    coercion.accessionFromOrder = expectBoolean(raw['accessionFromOrder'], join(at, 'accessionFromOrder'));
  }
  return coercion;
}

function billingList(value: unknown, at: string): BillingRule[] {
  if (value === undefined) return [];
  return expectArray(value, at).map((item, i) => {
    const path = join(at, i);
    const raw: Plain = expectObject(item, path);
    expectKeys(raw, path, ['procedureCode', 'modality', 'priority', 'amount', 'currency']);
    const currency = expectString(raw['currency'], join(path, 'currency'));
    // ISO 4217: the CSV export and the totals group by this code.
    if (!/^[A-Z]{3}$/.test(currency))
      throw new ValidationError(join(path, 'currency'), 'expected an ISO 4217 code such as USD or EUR');
    const rule: BillingRule = { amount: expectNumber(raw['amount'], join(path, 'amount'), 0), currency };
    const procedureCode = optionalString(raw['procedureCode'], join(path, 'procedureCode'));
    const modality = optionalString(raw['modality'], join(path, 'modality'));
    const priority =
      raw['priority'] === undefined
        ? undefined
        : expectOneOf(raw['priority'], join(path, 'priority'), [...priorities, '*'] as const);
    if (procedureCode !== undefined) rule.procedureCode = procedureCode;
    if (modality !== undefined) rule.modality = modality;
    if (priority !== undefined) rule.priority = priority;
    return rule;
  });
}

/** The first rule that matches the exam, or undefined when the facility bills nothing for it. */
export function billingRuleFor(
  facility: Facility,
  exam: { procedureCode: string; modality?: string; priority: string },
): BillingRule | undefined {
  const matches = (rule: string | undefined, actual: string | undefined): boolean =>
    rule === undefined || rule === '*' || rule === actual;
  return facility.billingRules.find(
    (rule) =>
      matches(rule.procedureCode, exam.procedureCode) &&
      matches(rule.modality, exam.modality) &&
      matches(rule.priority, exam.priority),
  );
}

export interface FacilityRegistryOptions {
  /**
   * How long get() reuses a facility it read (default 5 s). Every order reads its facility, and facilities
   * change rarely (config at start, an admin edit): this process's own saves show at once, another hub
   * process's within this time. 0 reads the store every time.
   */
  cacheMs?: number;
}

interface CachedFacility {
  facility: Facility;
  until: number;
}

export class FacilityRegistry {
  readonly #db: HubDb;
  readonly #cacheMs: number;
  readonly #cache = new Map<string, CachedFacility>();
  /**
   * AE title -> facility code, for as long as the facility cache: a C-STORE SCP asks once per instance (a 500-instance
   * study: 500 store reads of the facility, 2 % of the ingest's main thread). Emptied by every save here.
   */
  readonly #byAeTitle = new Map<string, { code: string; until: number }>();
  /** Bumped by every save: a read that started before a save must not cache what it read. */
  #saves = 0;

  constructor(db: HubDb, options: FacilityRegistryOptions = {}) {
    this.#db = db;
    this.#cacheMs = options.cacheMs ?? 5_000;
  }

  get #facilities() {
    return this.#db.collection<FacilityDoc>('facilities');
  }

  async ensureIndexes(): Promise<void> {
    await this.#facilities.createIndex({ aeTitles: 1 });
    await this.#facilities.createIndex({ sendingFacilities: 1 });
  }

  /** Stores (creates or replaces) a facility; input is checked as if untrusted. */
  async save(input: unknown): Promise<Facility> {
    let facility: Facility;
    try {
      facility = parseFacility(input);
    } catch (error) {
      if (error instanceof ValidationError) throw new InvalidInputError(error.path || 'facility', error.reason);
      throw error;
    }
    const doc: FacilityDoc = { ...facility, _id: facility.code, updatedAt: new Date().toISOString() };
    const { _id, ...replacement } = doc;
    this.#saves++;
    this.#cache.delete(_id);
    this.#byAeTitle.clear();
    try {
      await this.#facilities.replaceOne({ _id }, replacement, { upsert: true });
    } finally {
      this.#saves++;
      this.#cache.delete(_id);
    }
    return facility;
  }

  /** Forgets a facility; true when it existed. The console refuses this while exams name the facility. */
  async remove(code: string): Promise<boolean> {
    this.#saves++;
    this.#cache.delete(code);
    this.#byAeTitle.clear();
    try {
      return (await this.#facilities.deleteOne({ _id: code })).deletedCount === 1;
    } finally {
      this.#saves++;
      this.#cache.delete(code);
    }
  }

  /** The facility by code; unknown codes are never cached, so a facility saved elsewhere is found at once. */
  async get(code: string): Promise<Facility | undefined> {
    const now = Date.now();
    const cached = this.#cache.get(code);
    if (cached !== undefined && cached.until > now) return cached.facility;
    const saves = this.#saves;
    const facility = strip(await this.#facilities.findOne({ _id: code }));
    if (facility === undefined || this.#cacheMs <= 0 || saves !== this.#saves) {
      this.#cache.delete(code);
      return facility;
    }
    // Frozen: every caller shares this object, so none may change it for the others.
    this.#cache.set(code, { facility: deepFreeze(facility), until: now + this.#cacheMs });
    return facility;
  }

  async require(code: string): Promise<Facility> {
    const facility = await this.get(code);
    if (!facility) throw new NotFoundError('facility', code);
    return facility;
  }

  /** The facility whose modality or PACS calls with this AE title (DICOM integration process). */
  async findByAeTitle(aeTitle: string): Promise<Facility | undefined> {
    const ae = aeTitle.trim();
    const known = this.#byAeTitle.get(ae);
    if (known !== undefined && known.until > Date.now()) {
      // Through the facility cache, and checked again: a facility saved meanwhile may have given the title away.
      const facility = await this.get(known.code);
      if (facility?.active === true && facility.aeTitles.includes(ae)) return facility;
    }
    const saves = this.#saves;
    const facility = strip(await this.#facilities.findOne({ aeTitles: ae, active: true }));
    // Unknown titles are never cached, so a facility configured elsewhere is found at once.
    if (facility === undefined || this.#cacheMs <= 0 || saves !== this.#saves) this.#byAeTitle.delete(ae);
    else this.#byAeTitle.set(ae, { code: facility.code, until: Date.now() + this.#cacheMs });
    return facility;
  }

  /** The facility an HL7 message comes from, by MSH-4 (namespace id). */
  async findBySendingFacility(msh4: string): Promise<Facility | undefined> {
    return strip(await this.#facilities.findOne({ sendingFacilities: msh4, active: true }));
  }

  async list(): Promise<Facility[]> {
    const docs = await this.#facilities.find({}).sort({ _id: 1 }).toArray();
    return docs.map((doc) => strip(doc)!);
  }

  /** Seeds the store from config/facilities/*.json; returns the codes loaded. Errors name the file and path. */
  async loadDir(dir: string): Promise<string[]> {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const loaded: string[] = [];
    for (const name of names) {
      const file = path.join(dir, name);
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readFile(file, 'utf8'));
      } catch (error) {
        throw new InvalidInputError(file, `not valid JSON: ${(error as Error).message}`);
      }
      try {
        loaded.push((await this.save(parseFacility(parsed))).code);
      } catch (error) {
        if (error instanceof ValidationError) throw new InvalidInputError(`${file}: ${error.path}`, error.reason);
        throw error;
      }
    }
    return loaded;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const child of Object.values(value)) deepFreeze(child);
  return Object.freeze(value);
}

function strip(doc: FacilityDoc | null): Facility | undefined {
  if (!doc) return undefined;
  const { _id, updatedAt, ...facility } = doc;
  return facility;
}
