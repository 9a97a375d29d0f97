// Patients as the RSO knows them: identifiers issued by each facility's assigning authority (an MRN from
// Valley General is not an MRN from another hospital), demographics, and merges (HL7 ADT^A40, FHIR
// Patient.link): the merged patient A stays, marked with a link to the survivor B, so old references resolve.
import { randomUUID } from 'node:crypto';
import { isDuplicateKeyError, type HubDb } from '../store/db.ts';
import { diff, type ChangeSource, type FieldValue } from './change.ts';
import {
  DuplicateError,
  InvalidInputError,
  MergedPatientError,
  NotFoundError,
  VersionConflictError,
} from './errors.ts';
import { pendingEvent } from './outbox.ts';
import { writeChange, type VersionedDoc } from './versioned.ts';
import {
  addressTypes,
  addressUses,
  nameUses,
  telecomSystems,
  telecomUses,
  type Address,
  type Concept,
  type PersonName,
  type Telecom,
} from './demographics.ts';

export {
  addressTypes,
  addressUses,
  nameUses,
  telecomSystems,
  telecomUses,
  type Address,
  type Concept,
  type NameUse,
  type PersonName,
  type Telecom,
} from './demographics.ts';

export const sexes = ['male', 'female', 'other', 'unknown'] as const;
export type Sex = (typeof sexes)[number];

export interface PatientIdentifier {
  /** The assigning authority as a URI (FHIR Identifier.system); HL7 and DICOM codes go through identity-systems.ts. */
  system: string;
  value: string;
  /** The facility that issued it, when known. */
  facility?: string;
  /** The kind of identifier (FHIR Identifier.type, HL7 CX-5 from table 0203 such as MR). */
  type?: Concept;
}

export interface PatientInput {
  identifiers: PatientIdentifier[];
  name?: PersonName;
  /** YYYY-MM-DD, or YYYY / YYYY-MM when only that is known. */
  birthDate?: string;
  sex?: Sex;
  /** Replaced as a whole when present (a message that has them has them all); absent leaves them as they are. */
  telecom?: Telecom[];
  address?: Address[];
}

export interface Patient extends VersionedDoc {
  identifiers: PatientIdentifier[];
  /** `system|value` of every identifier, for lookups and uniqueness. */
  identifierKeys: string[];
  name: PersonName;
  birthDate?: string;
  sex?: Sex;
  telecom?: Telecom[];
  address?: Address[];
  /** Set when this patient was merged into another (the survivor's id). */
  mergedInto?: string;
  /** Ids of patients merged into this one. */
  replaces?: string[];
}

export function identifierKey(system: string, value: string): string {
  return `${system}|${value}`;
}

/**
 * No real patient has this many record numbers; the bound keeps one hostile message (a PID-3 repeated 100,000
 * times) from becoming a patient whose every read, write and index update carries them all. HL7 sources refuse
 * such a message before it is stored (hl7/message-limits.ts); this holds for every other way in.
 */
export const maxPatientIdentifiers = 1000;

export function checkPatientInput(input: PatientInput, at = 'patient'): PatientInput {
  if (!Array.isArray(input.identifiers) || input.identifiers.length === 0) {
    throw new InvalidInputError(`${at}.identifiers`, 'at least one identifier (system and value) is required');
  }
  if (input.identifiers.length > maxPatientIdentifiers) {
    throw new InvalidInputError(
      `${at}.identifiers`,
      `${input.identifiers.length} identifiers; a patient may have at most ${maxPatientIdentifiers}`,
    );
  }
  input.identifiers.forEach((id, i) => {
    if (typeof id.system !== 'string' || id.system === '')
      throw new InvalidInputError(`${at}.identifiers[${i}].system`, 'the assigning authority is required');
    if (typeof id.value !== 'string' || id.value === '')
      throw new InvalidInputError(`${at}.identifiers[${i}].value`, 'the identifier value is required');
  });
  if (input.birthDate !== undefined && !/^\d{4}(-\d{2}(-\d{2})?)?$/.test(input.birthDate)) {
    throw new InvalidInputError(`${at}.birthDate`, `expected YYYY-MM-DD, got "${input.birthDate}"`);
  }
  if (input.sex !== undefined && !(sexes as readonly string[]).includes(input.sex)) {
    throw new InvalidInputError(`${at}.sex`, `expected one of ${sexes.join(', ')}`);
  }
  if (input.name?.use !== undefined) oneOf(input.name.use, nameUses, `${at}.name.use`);
  input.telecom?.forEach((telecom, i) => {
    if (typeof telecom.value !== 'string' || telecom.value === '')
      throw new InvalidInputError(`${at}.telecom[${i}].value`, 'the number or address is required');
    if (telecom.system !== undefined) oneOf(telecom.system, telecomSystems, `${at}.telecom[${i}].system`);
    if (telecom.use !== undefined) oneOf(telecom.use, telecomUses, `${at}.telecom[${i}].use`);
  });
  input.address?.forEach((address, i) => {
    if (address.use !== undefined) oneOf(address.use, addressUses, `${at}.address[${i}].use`);
    if (address.type !== undefined) oneOf(address.type, addressTypes, `${at}.address[${i}].type`);
  });
  return input;
}

function oneOf(value: string, allowed: readonly string[], at: string): void {
  if (!allowed.includes(value))
    throw new InvalidInputError(at, `expected one of ${allowed.join(', ')}, got "${value}"`);
}

type Demographics = Pick<PatientInput, 'name' | 'telecom' | 'address'> & {
  birthDate?: string | undefined;
  sex?: Sex | undefined;
};

function demographics(p: Demographics): Record<string, FieldValue | undefined> {
  return {
    family: p.name?.family,
    given: p.name?.given.join(' '),
    nameUse: p.name?.use,
    birthDate: p.birthDate,
    sex: p.sex,
    telecom: p.telecom === undefined || p.telecom.length === 0 ? undefined : JSON.stringify(p.telecom),
    address: p.address === undefined || p.address.length === 0 ? undefined : JSON.stringify(p.address),
  };
}

/** Identifier types are details of identifiers already held: a changed type is a change worth writing. */
function identifierTypes(ids: readonly PatientIdentifier[]): string {
  return JSON.stringify(ids.map((id) => id.type ?? null));
}

/** Field names only: the history says *that* the name changed; the values are in the document itself. */
function changedFields(before: Patient, input: PatientInput): string[] {
  const changes = diff(demographics(before), demographics({ ...before, ...input }));
  return changes ? Object.keys(changes) : [];
}

export class PatientRecords {
  readonly #db: HubDb;

  constructor(db: HubDb) {
    this.#db = db;
  }

  get collection() {
    return this.#db.collection<Patient>('patients');
  }

  async ensureIndexes(): Promise<void> {
    // Unique: two processes recording the same new MRN at once must not create two patients (record() retries).
    await this.collection.createIndex({ identifierKeys: 1 }, { unique: true, sparse: true });
    await this.collection.createIndex({ updatedAt: 1 });
    await this.collection.createIndex({ 'identifiers.value': 1 });
  }

  async get(id: string): Promise<Patient | undefined> {
    return (await this.collection.findOne({ _id: id })) ?? undefined;
  }

  async require(id: string): Promise<Patient> {
    const patient = await this.get(id);
    if (!patient) throw new NotFoundError('patient', id);
    return patient;
  }

  /** The surviving patient: follows merge links (A merged into B merged into C gives C). */
  async resolve(id: string): Promise<Patient> {
    let patient = await this.require(id);
    for (let hops = 0; patient.mergedInto !== undefined && hops < 16; hops++)
      patient = await this.require(patient.mergedInto);
    return patient;
  }

  async findByIdentifier(system: string, value: string): Promise<Patient | undefined> {
    return (await this.collection.findOne({ identifierKeys: identifierKey(system, value) })) ?? undefined;
  }

  /**
   * Creates the patient or updates the one holding any of its identifiers (ADT A04/A08, an order's PID, a FHIR
   * conditional create). New identifiers are added, none are removed; a merged match resolves to its survivor.
   */
  async record(input: PatientInput, by: ChangeSource): Promise<{ patient: Patient; created: boolean }> {
    checkPatientInput(input);
    const keys = input.identifiers.map((id) => identifierKey(id.system, id.value));
    for (let attempt = 0; attempt < 5; attempt++) {
      const found = await this.collection.findOne({ identifierKeys: { $in: keys } });
      if (!found) {
        try {
          return { patient: await this.create(input, by), created: true };
        } catch (error) {
          if (error instanceof DuplicateError) continue; // created by another process meanwhile: update that one
          throw error;
        }
      }
      const survivor = found.mergedInto === undefined ? found : await this.resolve(found._id);
      // Identifiers of a merged record stay with it (old references resolve through it), not on the survivor.
      const held = new Set(found._id === survivor._id ? [] : found.identifierKeys);
      const updated = await this.#amend(
        survivor,
        { ...input, identifiers: input.identifiers.filter((id) => !held.has(identifierKey(id.system, id.value))) },
        by,
      );
      if (updated) return { patient: updated, created: false };
    }
    throw new Error('patient: too many concurrent changes to one patient');
  }

  async create(input: PatientInput, by: ChangeSource): Promise<Patient> {
    checkPatientInput(input);
    const now = new Date().toISOString();
    const id = randomUUID();
    const patient: Patient = {
      _id: id,
      identifiers: input.identifiers.map((i) => ({ ...i })),
      identifierKeys: input.identifiers.map((i) => identifierKey(i.system, i.value)),
      name: input.name ?? { given: [] },
      version: 1,
      createdAt: now,
      updatedAt: now,
      history: [{ at: now, version: 1, event: 'patient.created', by }],
      outbox: [pendingEvent('patient', id, 1, 0, { type: 'patient.created', at: now, by, patientId: id, data: {} })],
    };
    if (input.birthDate !== undefined) patient.birthDate = input.birthDate;
    if (input.sex !== undefined) patient.sex = input.sex;
    if (input.telecom !== undefined && input.telecom.length > 0) patient.telecom = input.telecom;
    if (input.address !== undefined && input.address.length > 0) patient.address = input.address;
    try {
      await this.collection.insertOne(patient);
    } catch (error) {
      if (isDuplicateKeyError(error)) throw await this.#duplicate(input);
      throw error;
    }
    return patient;
  }

  /** Replaces demographics (FHIR update); `expectedVersion` is the If-Match check. */
  async update(id: string, input: PatientInput, by: ChangeSource, expectedVersion?: number): Promise<Patient> {
    checkPatientInput(input);
    const current = await this.require(id);
    if (current.mergedInto !== undefined) throw new MergedPatientError(id, current.mergedInto);
    if (expectedVersion !== undefined && expectedVersion !== current.version)
      throw new VersionConflictError(`patient ${id}`, expectedVersion, current.version);
    const next = await this.#write(current, input, by, true);
    if (!next) throw new VersionConflictError(`patient ${id}`, current.version, current.version + 1);
    return next;
  }

  /** Adds identifiers and overwrites the demographics the input carries. Undefined on a lost race. */
  async #amend(current: Patient, input: PatientInput, by: ChangeSource): Promise<Patient | undefined> {
    const known = new Set(current.identifierKeys);
    const newIds = input.identifiers.filter((id) => !known.has(identifierKey(id.system, id.value)));
    // A held identifier takes the type the input gives it (an ADT feed that starts sending CX-5); looked up by key
    // so that a patient with many identifiers costs linear time (issue 10).
    const inputTypes = new Map(input.identifiers.map((id) => [identifierKey(id.system, id.value), id.type]));
    const held = current.identifiers.map((id) => {
      const type = inputTypes.get(identifierKey(id.system, id.value));
      return type === undefined ? id : { ...id, type };
    });
    const retyped = identifierTypes(held) !== identifierTypes(current.identifiers);
    if (newIds.length === 0 && !retyped && changedFields(current, input).length === 0) return current;
    if (current.identifiers.length + newIds.length > maxPatientIdentifiers) {
      throw new InvalidInputError(
        'patient.identifiers',
        `patient ${current._id} has ${current.identifiers.length} identifiers and would get ${newIds.length} more; a patient may have at most ${maxPatientIdentifiers}`,
      );
    }
    return this.#write(current, { ...input, identifiers: [...held, ...newIds] }, by, false);
  }

  /** The DuplicateError for the first identifier of `input` that another patient holds. */
  async #duplicate(input: PatientInput, exceptId?: string): Promise<DuplicateError | Error> {
    for (const [i, id] of input.identifiers.entries()) {
      const holder = await this.findByIdentifier(id.system, id.value);
      if (holder && holder._id !== exceptId)
        return new DuplicateError(`patient.identifiers[${i}]`, `${id.system}|${id.value}`, `patient ${holder._id}`);
    }
    return new Error('patient: duplicate key, but no other patient holds the identifiers');
  }

  async #write(
    current: Patient,
    input: PatientInput,
    by: ChangeSource,
    replace: boolean,
  ): Promise<Patient | undefined> {
    try {
      return await this.#writeUnchecked(current, input, by, replace);
    } catch (error) {
      if (isDuplicateKeyError(error)) throw await this.#duplicate(input, current._id);
      throw error;
    }
  }

  async #writeUnchecked(
    current: Patient,
    input: PatientInput,
    by: ChangeSource,
    replace: boolean,
  ): Promise<Patient | undefined> {
    const fields = changedFields(current, input);
    const set: Partial<Patient> = {
      identifiers: input.identifiers,
      identifierKeys: input.identifiers.map((i) => identifierKey(i.system, i.value)),
    };
    const unset: Array<'birthDate' | 'sex' | 'telecom' | 'address'> = [];
    if (input.name || replace) set.name = input.name ?? { given: [] };
    for (const key of ['birthDate', 'sex', 'telecom', 'address'] as const) {
      if (input[key] !== undefined) Object.assign(set, { [key]: input[key] });
      else if (replace && current[key] !== undefined) unset.push(key);
    }
    return writeChange(this.collection, current, {
      set,
      unset,
      event: 'patient.updated',
      by,
      events: (version, at) => [
        pendingEvent('patient', current._id, version, 0, {
          type: 'patient.updated',
          at,
          by,
          patientId: current._id,
          data: { fields: fields.join(',') },
        }),
      ],
    });
  }

  /** Marks A as merged into B (both must exist and be unmerged); moving A's exams is the service's job. */
  async markMerged(fromId: string, intoId: string, by: ChangeSource): Promise<{ from: Patient; into: Patient }> {
    if (fromId === intoId) throw new InvalidInputError('patient', `cannot merge patient ${fromId} into itself`);
    const into = await this.require(intoId);
    if (into.mergedInto !== undefined) throw new MergedPatientError(intoId, into.mergedInto);
    const from = await this.require(fromId);
    if (from.mergedInto !== undefined) throw new MergedPatientError(fromId, from.mergedInto);
    const mergedFrom = await writeChange(this.collection, from, {
      set: { mergedInto: intoId },
      event: 'patient.merged',
      by,
      events: (version, at) => [
        pendingEvent('patient', fromId, version, 0, {
          type: 'patient.merged',
          at,
          by,
          patientId: fromId,
          data: { into: intoId },
        }),
      ],
    });
    if (!mergedFrom) throw new VersionConflictError(`patient ${fromId}`, from.version, from.version + 1);
    const survivor = await this.#addReplaces(into, fromId, by);
    return { from: mergedFrom, into: survivor };
  }

  async #addReplaces(into: Patient, fromId: string, by: ChangeSource): Promise<Patient> {
    let current = into;
    for (let attempt = 0; attempt < 5; attempt++) {
      const next = await writeChange(this.collection, current, {
        set: { replaces: [...(current.replaces ?? []), fromId] },
        event: 'patient.updated',
        by,
        events: (version, at) => [
          pendingEvent('patient', current._id, version, 0, {
            type: 'patient.updated',
            at,
            by,
            patientId: current._id,
            data: { replaces: fromId },
          }),
        ],
      });
      if (next) return next;
      current = await this.require(into._id);
    }
    throw new Error(`patient ${into._id}: too many concurrent changes`);
  }
}
