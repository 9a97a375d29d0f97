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
  try {
    const scanner = new Scanner(text, offsets);
    scanner.value('');
  } catch {
    return undefined;
  }
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

class Scanner {
  #at = 0;
  readonly #text: string;
  readonly #offsets: Map<string, number>;

  constructor(text: string, offsets: Map<string, number>) {
    this.#text = text;
    this.#offsets = offsets;
  }

  value(path: string): void {
    this.#space();
    this.#offsets.set(path, this.#at);
    const char = this.#text[this.#at];
    if (char === '{') return this.#object(path);
    if (char === '[') return this.#array(path);
    if (char === '"') return void this.#string();
    const literal = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(this.#text.slice(this.#at, this.#at + 64));
    if (!literal) throw new Error('not JSON');
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
    if (this.#at >= this.#text.length) throw new Error('unterminated string');
    const raw = this.#text.slice(start, this.#at);
    this.#at++;
    return JSON.parse(`"${raw}"`) as string;
  }

  #expect(char: string): void {
    if (this.#text[this.#at] !== char) throw new Error(`expected ${char}`);
    this.#at++;
  }

  #space(): void {
    while (/\s/.test(this.#text[this.#at] ?? '')) this.#at++;
  }
}

/** The line of a JSON.parse failure, from V8's "… at position N" or "(line L column C)". */
export function syntaxErrorLine(text: string, error: SyntaxError): number | undefined {
  const lineColumn = /line (\d+) column/.exec(error.message);
  if (lineColumn) return Number(lineColumn[1]);
  const position = /position (\d+)/.exec(error.message);
  return position ? lineAndColumn(text, Number(position[1])).line : undefined;
}
