// A facility being edited, kept as the plain JSON object the hub takes, so the keys the form does not show
// (move destinations, coercion, identity systems, dispatch templates, TLS) pass through a form edit untouched.
// The form reads typed views of it and writes by path; the hub's parseFacility is the only validation, so the
// console refuses exactly what a seed file would be refused for.

export type Draft = Record<string, unknown>;
export type Key = string | number;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function valueAt(draft: unknown, path: readonly Key[]): unknown {
  let at: unknown = draft;
  for (const key of path) {
    if (typeof key === 'number') at = Array.isArray(at) ? at[key] : undefined;
    else at = isRecord(at) ? at[key] : undefined;
  }
  return at;
}

export function textAt(draft: unknown, path: readonly Key[]): string {
  const value = valueAt(draft, path);
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

export function listAt(draft: unknown, path: readonly Key[]): unknown[] {
  const value = valueAt(draft, path);
  return Array.isArray(value) ? value : [];
}

/**
 * The draft with `value` at `path`. Undefined removes the key, and an optional object left empty by that
 * (a PACS or an MLLP endpoint whose fields were all cleared) is removed too: absent means "none" to the hub.
 */
export function withValue(draft: unknown, path: readonly Key[], value: unknown): unknown {
  const [key, ...rest] = path;
  if (key === undefined) return value;
  if (typeof key === 'number') {
    const list = Array.isArray(draft) ? [...draft] : [];
    list[key] = withValue(list[key], rest, value);
    return list;
  }
  const record: Record<string, unknown> = isRecord(draft) ? { ...draft } : {};
  const inner = withValue(record[key], rest, value);
  if (inner === undefined || (rest.length > 0 && isRecord(inner) && Object.keys(inner).length === 0))
    delete record[key];
  else record[key] = inner;
  return record;
}

export function withoutItem(draft: unknown, path: readonly Key[], index: number): unknown {
  return withValue(
    draft,
    path,
    listAt(draft, path).filter((_, i) => i !== index),
  );
}

/** A text field's value for the draft: empty means the key is absent, as in a hand-written seed file. */
export function optionalText(text: string): string | undefined {
  return text === '' ? undefined : text;
}

/** The path as the hub writes it (runtime/validate.ts join): `technicians[1].email`. */
export function pathText(path: readonly Key[]): string {
  return path.reduce<string>(
    (text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${key}` : key),
    '',
  );
}
