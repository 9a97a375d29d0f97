// HL7 v2 escape sequences (v2.5.1 ch. 2.7): values travel with their delimiters escaped, so a name such as
// "Smith & Sons|Ltd" survives a field. Decoding happens on read and encoding on write; stored text stays
// encoded, so an untouched field is sent back byte for byte as it came.
export interface Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
  /** v2.7+ fifth encoding character (ch. 2.5.5.6); empty before. */
  truncation: string;
}

export const defaultDelimiters: Delimiters = {
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
  truncation: '',
};

/** MSH-1 and MSH-2 as one string, e.g. `|^~\&`. */
export function delimiterText(d: Delimiters): string {
  return d.field + d.component + d.repetition + d.escape + d.subcomponent + d.truncation;
}

export function delimitersFrom(field: string, encodingCharacters: string): Delimiters {
  const [component, repetition, escapeCharacter, subcomponent, truncation] = [...encodingCharacters];
  return {
    field,
    component: component ?? '^',
    repetition: repetition ?? '~',
    escape: escapeCharacter ?? '\\',
    subcomponent: subcomponent ?? '&',
    truncation: truncation ?? '',
  };
}

/** How `\Xhh\` bytes become text: per the message's character set (MSH-18). */
export type HexDecoder = (bytes: Buffer) => string;

const latin1Hex: HexDecoder = (bytes) => bytes.toString('latin1');

function hexSequence(body: string, decodeHex: HexDecoder): string | undefined {
  const hex = body.slice(1);
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(hex)) return undefined;
  return decodeHex(Buffer.from(hex, 'hex'));
}

function decodeSequence(body: string, d: Delimiters, decodeHex: HexDecoder): string | undefined {
  switch (body) {
    case 'F':
      return d.field;
    case 'S':
      return d.component;
    case 'T':
      return d.subcomponent;
    case 'R':
      return d.repetition;
    case 'E':
      return d.escape;
    case 'P':
      return d.truncation === '' ? undefined : d.truncation;
    // Formatting commands are only meaningful in FT/TX fields (ch. 2.7.6); a line break is the one with a
    // faithful plain-text reading. The others (\H\, \N\, \.sp\, \Zxx\ …) are kept as written.
    case '.br':
      return '\n';
  }
  if (body.startsWith('X')) return hexSequence(body, decodeHex);
  return undefined;
}

/** Decodes one primitive value (a component or subcomponent, never text still holding delimiters). */
export function unescapeValue(text: string, d: Delimiters, decodeHex: HexDecoder = latin1Hex): string {
  if (!text.includes(d.escape)) return text;
  let out = '';
  let at = 0;
  while (at < text.length) {
    const start = text.indexOf(d.escape, at);
    if (start < 0) break;
    const end = text.indexOf(d.escape, start + 1);
    if (end < 0) break;
    const decoded = decodeSequence(text.slice(start + 1, end), d, decodeHex);
    out += text.slice(at, start) + (decoded ?? text.slice(start, end + 1));
    at = end + 1;
  }
  return out + text.slice(at);
}

/** Encodes a value so none of its characters can be read as a delimiter or a segment break. */
export function escapeValue(value: string, d: Delimiters): string {
  let out = '';
  for (const ch of value.replaceAll('\r\n', '\n')) out += escapeChar(ch, d);
  return out;
}

function escapeChar(ch: string, d: Delimiters): string {
  const e = d.escape;
  if (ch === e) return `${e}E${e}`;
  if (ch === d.field) return `${e}F${e}`;
  if (ch === d.component) return `${e}S${e}`;
  if (ch === d.subcomponent) return `${e}T${e}`;
  if (ch === d.repetition) return `${e}R${e}`;
  if (d.truncation !== '' && ch === d.truncation) return `${e}P${e}`;
  // A bare CR would end the segment (ch. 2.5.1); \X0D\ keeps it as data, and a line break reads as \.br\.
  if (ch === '\r') return `${e}X0D${e}`;
  if (ch === '\n') return `${e}.br${e}`;
  return ch;
}
