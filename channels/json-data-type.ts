// The 'json' data type: paths are dot paths into the parsed JSON ('patient.ids.0'), numbers and booleans read
// as their text, a list reached by getAll yields every element. The index fields are read from conventional
// top-level names so a JSON source can be searched like an HL7 one without a custom data type.
import type { DataType, MessageDocument, MessageIndex } from './connector.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function segments(path: string): string[] {
  return path === '' ? [] : path.split('.');
}

function child(node: Json | undefined, key: string): Json | undefined {
  if (Array.isArray(node)) return /^\d+$/.test(key) ? node[Number(key)] : undefined;
  if (node !== null && typeof node === 'object') return Object.hasOwn(node, key) ? node[key] : undefined;
  return undefined;
}

function scalarText(node: Json | undefined): string | undefined {
  if (typeof node === 'string') return node;
  if (typeof node === 'number' || typeof node === 'boolean') return String(node);
  return undefined;
}

class JsonDocument implements MessageDocument {
  #root: Json;

  constructor(root: Json) {
    this.#root = root;
  }

  #node(path: string): Json | undefined {
    let node: Json | undefined = this.#root;
    for (const key of segments(path)) node = child(node, key);
    return node;
  }

  get(path: string): string | undefined {
    const node = this.#node(path);
    if (Array.isArray(node)) return scalarText(node[0]);
    return scalarText(node);
  }

  getAll(path: string): string[] {
    const node = this.#node(path);
    const list = Array.isArray(node) ? node : [node];
    return list.map(scalarText).filter((v): v is string => v !== undefined);
  }

  set(path: string, value: string): void {
    const keys = segments(path);
    const last = keys.pop();
    if (last === undefined) {
      this.#root = value;
      return;
    }
    let node: Json = this.#root;
    for (const key of keys) node = descend(node, key, path);
    assign(node, last, value, path);
  }

  toString(): string {
    return JSON.stringify(this.#root);
  }

  toJSON(): unknown {
    return this.#root;
  }
}

function isContainer(node: Json | undefined): node is Json[] | { [key: string]: Json } {
  return node !== null && typeof node === 'object';
}

function descend(node: Json, key: string, path: string): Json {
  if (!isContainer(node)) throw new Error(`cannot set '${path}': '${key}' is inside a value that is not an object`);
  const existing = child(node, key);
  if (isContainer(existing)) return existing;
  const created: Json = {};
  assign(node, key, created, path);
  return created;
}

function assign(node: Json, key: string, value: Json, path: string): void {
  if (Array.isArray(node)) {
    if (!/^\d+$/.test(key)) throw new Error(`cannot set '${path}': '${key}' is not a list index`);
    node[Number(key)] = value;
    return;
  }
  if (!isContainer(node)) throw new Error(`cannot set '${path}': its parent is not an object`);
  // A definition's path is untrusted text; writing '__proto__' would change the prototype, not add a field.
  if (key === '__proto__') throw new Error(`cannot set '${path}': '__proto__' is not a field name`);
  node[key] = value;
}

function toJson(value: unknown): Json {
  return JSON.parse(JSON.stringify(value ?? null)) as Json;
}

const indexPaths: Record<keyof MessageIndex, string> = {
  messageType: 'messageType',
  controlId: 'controlId',
  patientId: 'patientId',
  accession: 'accession',
  orderNumber: 'orderNumber',
  sendingFacility: 'sendingFacility',
};

export const jsonDataType: DataType = {
  name: 'json',
  parse: (raw) => new JsonDocument(JSON.parse(raw) as Json),
  fromJSON: (value) => new JsonDocument(toJson(value)),
  index: (document) => {
    const index: MessageIndex = {};
    for (const [field, path] of Object.entries(indexPaths) as Array<[keyof MessageIndex, string]>) {
      const value = document.get(path);
      if (value !== undefined) index[field] = value;
    }
    return index;
  },
};
