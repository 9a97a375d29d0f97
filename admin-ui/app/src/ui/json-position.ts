// Where a JSON path (`destinations[0].connector.settings.port`, as the hub's validation names it) sits in the
// text being edited, so an error can be shown at its line and the cursor moved there. A small scanner that
// records where each value starts; it gives up (undefined) on text that is not valid JSON.

export interface Position {
  offset: number;
  line: number;
  column: number;
}

export function positionOf(text: string, path: string): Position | undefined {
  const offsets = new Map<string, number>();
  if (scan(text, offsets) !== undefined) return undefined;
  // The deepest part of the path that exists: a missing key is reported at its parent object.
  let probe = path;
  while (true) {
    const offset = offsets.get(probe);
    if (offset !== undefined) return lineAndColumn(text, offset);
    if (probe === '') return undefined;
    probe = parentOf(probe);
  }
}

function parentOf(path: string): string {
  const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
  return cut <= 0 ? '' : path.slice(0, cut);
}

export function lineAndColumn(text: string, offset: number): Position {
  const before = text.slice(0, offset).split('\n');
  return { offset, line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

/** Scans the whole text; the offset where it stops being JSON, or undefined when it is JSON. */
function scan(text: string, offsets: Map<string, number>): number | undefined {
  const scanner = new Scanner(text, offsets);
  try {
    scanner.document();
    return undefined;
  } catch (error) {
    return error instanceof NotJson ? error.at : 0;
  }
}

class NotJson extends Error {
  readonly at: number;
  constructor(at: number) {
    super(`not JSON at ${at}`);
    this.at = at;
  }
}

class Scanner {
  #at = 0;
  readonly #text: string;
  readonly #offsets: Map<string, number>;

  constructor(text: string, offsets: Map<string, number>) {
    this.#text = text;
    this.#offsets = offsets;
  }

  document(): void {
    this.value('');
    this.#space();
    if (this.#at < this.#text.length) throw new NotJson(this.#at);
  }

  value(path: string): void {
    this.#space();
    this.#offsets.set(path, this.#at);
    const char = this.#text[this.#at];
    if (char === '{') return this.#object(path);
    if (char === '[') return this.#array(path);
    if (char === '"') return void this.#string();
    const literal = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(this.#text.slice(this.#at, this.#at + 64));
    if (!literal) throw new NotJson(this.#at);
    this.#at += literal[0].length;
  }

  #object(path: string): void {
    this.#at++;
    this.#space();
    if (this.#text[this.#at] === '}') return void this.#at++;
    while (true) {
      this.#space();
      const key = this.#string();
      this.#space();
      this.#expect(':');
      this.value(path === '' ? key : `${path}.${key}`);
      this.#space();
      if (this.#text[this.#at] === '}') return void this.#at++;
      this.#expect(',');
    }
  }

  #array(path: string): void {
    this.#at++;
    this.#space();
    if (this.#text[this.#at] === ']') return void this.#at++;
    for (let index = 0; ; index++) {
      this.value(`${path}[${index}]`);
      this.#space();
      if (this.#text[this.#at] === ']') return void this.#at++;
      this.#expect(',');
    }
  }

  #string(): string {
    this.#expect('"');
    const start = this.#at;
    while (this.#at < this.#text.length && this.#text[this.#at] !== '"')
      this.#at += this.#text[this.#at] === '\\' ? 2 : 1;
    if (this.#at >= this.#text.length) throw new NotJson(start - 1);
    const raw = this.#text.slice(start, this.#at);
    this.#at++;
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch {
      throw new NotJson(start - 1);
    }
  }

  #expect(char: string): void {
    if (this.#text[this.#at] !== char) throw new NotJson(this.#at);
    this.#at++;
  }

  #space(): void {
    while (/\s/.test(this.#text[this.#at] ?? '')) this.#at++;
  }
}

/** The line where a text stops being JSON (V8's JSON.parse message often gives no position). */
export function syntaxErrorLine(text: string): number | undefined {
  const at = scan(text, new Map());
  return at === undefined ? undefined : lineAndColumn(text, at).line;
}
