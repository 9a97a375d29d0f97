// The 'raw' data type: content the engine does not understand. The only path is '' (the whole content), so a
// filter can still test it with `matches` and a map can replace it with a constant.
import type { DataType, MessageDocument } from './connector.ts';

class RawDocument implements MessageDocument {
  #content: string;

  constructor(content: string) {
    this.#content = content;
  }

  get(path: string): string | undefined {
    checkPath(path);
    return this.#content;
  }

  getAll(path: string): string[] {
    checkPath(path);
    return [this.#content];
  }

  set(path: string, value: string): void {
    checkPath(path);
    this.#content = value;
  }

  toString(): string {
    return this.#content;
  }

  toJSON(): unknown {
    return this.#content;
  }
}

function checkPath(path: string): void {
  if (path !== '') throw new Error(`raw content has no field '${path}': only the whole content ('') is addressable`);
}

export const rawDataType: DataType = {
  name: 'raw',
  parse: (raw) => new RawDocument(raw),
  fromJSON: (value) => {
    if (typeof value !== 'string') throw new Error('the raw data type expects the script to leave a string');
    return new RawDocument(value);
  },
  index: () => ({}),
};
