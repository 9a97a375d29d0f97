// The `hl7v2` data type: how filters, mappings and the message store read HL7 v2 content (channels/connector.ts).
import type { DataType, MessageDocument, MessageIndex } from '../channels/connector.ts';
import { hexDecoderFor } from './charset.ts';
import { Hl7Message } from './message.ts';

class Hl7Document implements MessageDocument {
  readonly message: Hl7Message;

  constructor(message: Hl7Message) {
    this.message = message;
  }

  get(path: string): string | undefined {
    return this.message.get(path);
  }

  getAll(path: string): string[] {
    return this.message.getAll(path);
  }

  set(path: string, value: string): void {
    this.message.set(path, value);
  }

  toString(): string {
    return this.message.toString();
  }

  toJSON(): unknown {
    return this.message.toJSON();
  }
}

function messageOf(document: MessageDocument): Hl7Message {
  return document instanceof Hl7Document ? document.message : Hl7Message.parse(document.toString());
}

function firstOf(message: Hl7Message, paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const value = message.get(path);
    if (value) return value;
  }
  return undefined;
}

/** `ORM^O01` from MSH-9.1 and MSH-9.2 (MSH-9.3, the structure, adds nothing a search needs). */
function messageType(message: Hl7Message): string | undefined {
  const code = message.get('MSH-9.1');
  if (!code) return undefined;
  const trigger = message.get('MSH-9.2');
  return trigger ? `${code}^${trigger}` : code;
}

// Where radiology senders put the accession number varies: v2.5+ has IPC-1 for it; before that most RIS send
// it in OBR-18 (placer field 1), and the rest use the filler order number (OBR-3 / ORC-3). The order number is
// the placer's (ORC-2, else OBR-2): that is the number the ordering system knows the order by.
const accessionPaths = ['IPC-1.1', 'OBR-18', 'OBR-3.1', 'ORC-3.1'] as const;
const orderNumberPaths = ['ORC-2.1', 'OBR-2.1'] as const;

function indexOf(message: Hl7Message): MessageIndex {
  const index: MessageIndex = {};
  const type = messageType(message);
  if (type) index.messageType = type;
  const controlId = message.get('MSH-10');
  if (controlId) index.controlId = controlId;
  const patientId = message.get('PID-3.1');
  if (patientId) index.patientId = patientId;
  const accession = firstOf(message, accessionPaths);
  if (accession) index.accession = accession;
  const orderNumber = firstOf(message, orderNumberPaths);
  if (orderNumber) index.orderNumber = orderNumber;
  const sendingFacility = message.get('MSH-4.1');
  if (sendingFacility) index.sendingFacility = sendingFacility;
  return index;
}

/** `\Xhh\` escapes read per MSH-18, as the MLLP source reads them: a reprocessed message reads the same. */
function parseWithCharset(raw: string): Hl7Message {
  const message = Hl7Message.parse(raw);
  const charset = message.get('MSH-18[1]');
  return charset ? new Hl7Message(message.segments, message.delimiters, hexDecoderFor(charset)) : message;
}

export const hl7v2DataType: DataType = {
  name: 'hl7v2',
  parse: (raw) => new Hl7Document(parseWithCharset(raw)),
  fromJSON: (value) => new Hl7Document(Hl7Message.fromJSON(value)),
  index: (document) => indexOf(messageOf(document)),
};

/** A message the MLLP source has already parsed, as the pipeline's document (InboundMessage.document). */
export function hl7Document(message: Hl7Message): MessageDocument {
  return new Hl7Document(message);
}
