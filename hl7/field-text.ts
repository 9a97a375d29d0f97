// Reading optional HL7 fields the way real feeds fill them: padded with spaces, or holding `""`, the explicit
// null of ch. 2.5.3 ("delete the stored value"). The hub never deletes from an order or ADT feed (an empty A08
// field means "no change" and a `""` is rare and usually a sender bug), so both read as absent.
import type { Hl7Message } from './message.ts';

export function fieldText(message: Hl7Message, path: string): string | undefined {
  const value = message.get(path)?.trim();
  return value === undefined || value === '' || value === '""' ? undefined : value;
}

/** fieldText of one repetition of `path` (which names none): PID-5.7 of the third name is (PID-5.7, 3). */
export function repetitionText(message: Hl7Message, path: string, repetition: number): string | undefined {
  const value = message.getRepetition(path, repetition)?.trim();
  return value === undefined || value === '' || value === '""' ? undefined : value;
}

/** The first non-empty value among the paths, with the path it came from (for error texts). */
export function firstField(message: Hl7Message, paths: readonly string[]): { value: string; path: string } | undefined {
  for (const path of paths) {
    const value = fieldText(message, path);
    if (value !== undefined) return { value, path };
  }
  return undefined;
}

/** How many repetitions a field has (0 when empty). */
export function repetitionCount(message: Hl7Message, fieldPath: string): number {
  return message.repetitionCount(fieldPath);
}

/** `ORC` for the first occurrence, `ORC[2]` after: how analysts name a segment in a message with repeats. */
export function segmentLabel(name: string, occurrence: number): string {
  return occurrence === 1 ? name : `${name}[${occurrence}]`;
}
