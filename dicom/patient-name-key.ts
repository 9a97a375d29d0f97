// PatientName as the study index sorts it: the name in upper case. QIDO matches names ignoring case (PS3.4
// C.2.2.2.1.1 leaves case to the SCP), and a case-insensitive regular expression cannot use an index; a prefix
// wildcard (`SMITH^J*`, what viewers send as the user types) becomes a range on this key, which an index answers,
// and the expression then only checks the few studies in the range.

export function patientNameKey(name: string): string {
  return name.toUpperCase();
}

/**
 * The key range `[from, to)` that holds every name a wildcard pattern can match, when the pattern starts with
 * literal characters; undefined when it starts with a wildcard (no range narrows it).
 */
export function nameKeyRange(pattern: string): { from: string; to: string } | undefined {
  const literal = /^[^*?]*/.exec(pattern)?.[0] ?? '';
  const from = patientNameKey(literal);
  const last = from.charCodeAt(from.length - 1);
  if (from === '' || last === 0xffff) return undefined;
  return { from, to: `${from.slice(0, -1)}${String.fromCharCode(last + 1)}` };
}
