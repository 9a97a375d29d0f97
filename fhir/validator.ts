// Structural validation of incoming resources with @medplum/core against the base R4 StructureDefinitions.
// Only the definitions of the resource types a request holds are indexed (definitions.ts), on first use or at
// start(); @medplum/core keeps the index in a module-global, so every router in the process shares it.
// Note: required code bindings are not checked by @medplum/core; the mappings check the codes they use.
import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { HttpError, type HttpIssue } from '../http/http-error.ts';
import { indexResourceTypes, resourceTypesIn } from './definitions.ts';
import { fhirError } from './outcome.ts';

/** The types the hub's FHIR API takes in, indexed at start() so the first request does not pay for them. */
const acceptedTypes = ['Bundle', 'Patient', 'ServiceRequest', 'ImagingStudy', 'DiagnosticReport', 'Practitioner'];

export function loadDefinitions(): void {
  indexResourceTypes(acceptedTypes);
}

/**
 * Checks that `value` is a valid resource of one of the expected types; throws a 400 HttpError whose issues
 * name the elements. `prefix` rewrites expressions for resources inside a Bundle (`Bundle.entry[2].resource`).
 */
export function validate<T extends Resource['resourceType']>(
  value: unknown,
  expected: readonly T[],
  prefix?: string,
): Extract<Resource, { resourceType: T }> {
  const at = prefix ?? 'resource';
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw fhirError(400, 'structure', 'expected a JSON object (a FHIR resource)', prefix);
  const type = (value as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string' || !(expected as readonly string[]).includes(type)) {
    throw fhirError(
      400,
      'invalid',
      `${at}.resourceType: expected ${expected.join(' or ')}, got ${JSON.stringify(type ?? null)}`,
      prefix ? `${prefix}.resourceType` : 'resourceType',
    );
  }
  indexResourceTypes(resourceTypesIn(value));
  try {
    validateResource(value as Resource);
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error;
    const issues = (error.outcome.issue ?? []).map((issue): HttpIssue => {
      const path = issue.expression?.[0];
      const text = issue.details?.text ?? issue.diagnostics ?? 'invalid';
      const item: HttpIssue = { text, code: issue.code, severity: issue.severity };
      if (path !== undefined) item.path = prefix ? path.replace(/^[A-Za-z]+/, prefix) : path;
      return item;
    });
    throw new HttpError(400, issues[0]?.text ?? 'the resource is not valid', { issues });
  }
  return value as Extract<Resource, { resourceType: T }>;
}

export type ValidResource<T extends Resource['resourceType']> = Extract<Resource, { resourceType: T }>;

const sources = new WeakMap<object, string>();

/**
 * Remembers the JSON text a request body was parsed from. The validation thread then sends that text and
 * parses it there (the same value) instead of copying the parsed object to the thread, which cost the event
 * loop more than copying a flat string. So a body must be validated before anything changes it (the resources
 * validate first thing).
 */
export function parseJsonBody(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (typeof value === 'object' && value !== null) sources.set(value, text);
  return value;
}

/** The JSON text `value` was parsed from by parseJsonBody, if it was. */
export function jsonSourceOf(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null ? sources.get(value) : undefined;
}

/** Where validation runs: inline on the calling thread, or on a thread of its own (validation-thread.ts). */
export interface ResourceValidator {
  /** Loads the definitions now instead of at the first validation. */
  start(): void;
  /** validate() with the same answer and the same 400 HttpError; resolves to `value` itself. */
  validate<T extends Resource['resourceType']>(
    value: unknown,
    expected: readonly T[],
    prefix?: string,
  ): Promise<ValidResource<T>>;
}

export const inlineValidator: ResourceValidator = {
  start: loadDefinitions,
  validate: async (value, expected, prefix) => validate(value, expected, prefix),
};
