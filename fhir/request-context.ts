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
  if (!canSeeFacility(context, facility)) throw fhirError(403, 'forbidden', `you may not order for facility ${facility}`, expression);
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
