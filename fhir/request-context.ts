// What every FHIR operation needs to know about the caller: who (for the exam history and facility limits)
// and the base URL (for fullUrl and Location).
import type { ApiUser } from '../http/auth.ts';
import type { ChangeSource } from '../exams/change.ts';
import { fhirError } from './outcome.ts';

export interface FhirContext {
  user: ApiUser;
  base: string;
  by: ChangeSource;
}

/** The facilities the user may see, or undefined for all (RSO staff). */
export function facilityLimit(context: FhirContext): readonly string[] | undefined {
  return context.user.facilities;
}

export function canSeeFacility(context: FhirContext, facility: string): boolean {
  const limit = facilityLimit(context);
  return limit === undefined || limit.includes(facility);
}

/** A facility-limited user may only order for their facilities. */
export function checkFacilityWrite(context: FhirContext, facility: string, expression: string): void {
  if (!canSeeFacility(context, facility))
    throw fhirError(403, 'forbidden', `you may not order for facility ${facility}`, expression);
}

/** The facility a limited user's orders default to when the resource names none: their only one. */
export function defaultFacility(context: FhirContext): string | undefined {
  const limit = facilityLimit(context);
  return limit?.length === 1 ? limit[0] : undefined;
}

/** `W/"3"` or `"3"` -> 3 (R4 http.html#concurrency). */
export function parseIfMatch(header: string | undefined, expression = 'If-Match'): number | undefined {
  if (header === undefined || header === '') return undefined;
  const match = /^(?:W\/)?"(\d+)"$/.exec(header.trim());
  if (!match) throw fhirError(400, 'invalid', `If-Match: expected W/"<versionId>", got ${header}`, expression);
  return Number(match[1]);
}

export function etag(version: number): string {
  return `W/"${version}"`;
}

const idPattern = '[A-Za-z0-9\\-.]{1,64}';
const absoluteUrl = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * The id a reference names on this server: `Type/id` (with an optional `/_history/v`), or the same under the
 * server's own base URL (R4 references.html: an absolute URL at the server's base is a local reference).
 */
export function localReferenceId(reference: string, type: string, base: string): string | undefined {
  const local = reference.startsWith(`${base}/`) ? reference.slice(base.length + 1) : reference;
  return new RegExp(`^${type}/(${idPattern})(?:/_history/${idPattern})?$`).exec(local)?.[1];
}

/**
 * An absolute reference to another server (`http://elsewhere.example/fhir/Patient/1`) names a resource the hub
 * cannot read or vouch for: refused (422), never taken for the local resource with the same id. urn:uuid (a
 * transaction's own entries) and relative references pass; the mapping checks their shape.
 */
export function refuseExternalReference(
  reference: string | undefined,
  type: string,
  context: FhirContext,
  expression: string,
): void {
  if (reference === undefined || reference.startsWith('urn:uuid:') || !absoluteUrl.test(reference)) return;
  if (localReferenceId(reference, type, context.base) !== undefined) return;
  const text = `${reference} is not a ${type} of this server (${context.base}/${type}/<id>); external references are not resolved`;
  throw fhirError(422, 'processing', text, expression);
}

/** A reference search parameter's value (`patient=Patient/1`, `=1` or `=<base>/Patient/1`) as the local id. */
export function searchReferenceId(value: string, type: string, context: FhirContext, name: string): string {
  if (new RegExp(`^${idPattern}$`).test(value)) return value;
  const id = localReferenceId(value, type, context.base);
  if (id !== undefined) return id;
  const text = `${name}: "${value}" is not a ${type} of this server (${type}/<id>, or ${context.base}/${type}/<id>)`;
  throw fhirError(400, 'not-supported', text, name);
}
