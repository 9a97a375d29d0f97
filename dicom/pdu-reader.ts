// Splits a socket byte stream into PDUs (PS3.8 9.3) without ever assembling a P-DATA-TF: PDV values are passed
// on as zero-copy slices of the socket chunks as soon as they arrive, so memory does not grow with the PDU size
// the peer chose or with the instance size. Association PDUs are small and handed over whole.
import { pduType } from './pdu.ts';

export interface PduHandler {
  /** A whole non-P-DATA PDU; `body` excludes the 6-byte PDU header. */
  pdu(type: number, body: Buffer): void;
  /**
   * A piece of one PDV value. `endOfMessage` is true on the piece that ends a PDV whose message control header
   * says "last fragment" (PS3.8 E.2), i.e. the command or data set is complete.
   */
  pdv(contextId: number, isCommand: boolean, piece: Buffer, endOfMessage: boolean): void;
}

/** A-ASSOCIATE-RQ with many contexts stays far below this; anything larger is not a peer we can talk to. */
const maxControlPduLength = 1 << 20;

export class PduReader {
  readonly #handler: PduHandler;
  #header = Buffer.alloc(6);
  #headerFill = 0;
  /** Bytes of the current PDU body still to come. */
  #pduRemaining = 0;
  #type = 0;
  #control: Buffer[] = [];
  #pdvHeader = Buffer.alloc(6);
  #pdvHeaderFill = 0;
  #pdvRemaining = 0;
  #pdvContext = 0;
  #pdvFlags = 0;
  #inPdu = false;

  constructor(handler: PduHandler) {
    this.#handler = handler;
  }

  /** Throws on a malformed stream; the caller answers with A-ABORT. */
  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.#inPdu) {
        offset = this.#readPduHeader(chunk, offset);
        continue;
      }
      offset = this.#type === pduType.pData ? this.#readPData(chunk, offset) : this.#readControl(chunk, offset);
    }
  }

  #readPduHeader(chunk: Buffer, offset: number): number {
    const take = Math.min(6 - this.#headerFill, chunk.length - offset);
    chunk.copy(this.#header, this.#headerFill, offset, offset + take);
    this.#headerFill += take;
    if (this.#headerFill < 6) return offset + take;
    this.#headerFill = 0;
    this.#type = this.#header[0] ?? 0;
    this.#pduRemaining = this.#header.readUInt32BE(2);
    if (this.#type < pduType.associateRq || this.#type > pduType.abort)
      throw new Error(`unknown PDU type 0x${this.#type.toString(16)}`);
    if (this.#type !== pduType.pData && this.#pduRemaining > maxControlPduLength) {
      throw new Error(`PDU type 0x${this.#type.toString(16)} claims ${this.#pduRemaining} bytes`);
    }
    this.#inPdu = true;
    if (this.#pduRemaining === 0) this.#endPdu();
    return offset + take;
  }

  #readControl(chunk: Buffer, offset: number): number {
    const take = Math.min(this.#pduRemaining, chunk.length - offset);
    this.#control.push(chunk.subarray(offset, offset + take));
    this.#pduRemaining -= take;
    if (this.#pduRemaining === 0) this.#endPdu();
    return offset + take;
  }

  #endPdu(): void {
    this.#inPdu = false;
    if (this.#type === pduType.pData) {
      if (this.#pdvHeaderFill !== 0 || this.#pdvRemaining !== 0) throw new Error('P-DATA-TF ends inside a PDV');
      return;
    }
    const body = this.#control.length === 1 ? (this.#control[0] ?? Buffer.alloc(0)) : Buffer.concat(this.#control);
    this.#control = [];
    this.#handler.pdu(this.#type, body);
  }

  #readPData(chunk: Buffer, offset: number): number {
    if (this.#pdvRemaining === 0) return this.#readPdvHeader(chunk, offset);
    const take = Math.min(this.#pdvRemaining, chunk.length - offset);
    this.#pdvRemaining -= take;
    this.#pduRemaining -= take;
    const ends = this.#pdvRemaining === 0;
    const isCommand = (this.#pdvFlags & 0x01) !== 0;
    const last = ends && (this.#pdvFlags & 0x02) !== 0;
    if (ends && this.#pduRemaining === 0) this.#inPdu = false;
    this.#handler.pdv(this.#pdvContext, isCommand, chunk.subarray(offset, offset + take), last);
    return offset + take;
  }

  #readPdvHeader(chunk: Buffer, offset: number): number {
    const take = Math.min(6 - this.#pdvHeaderFill, chunk.length - offset);
    chunk.copy(this.#pdvHeader, this.#pdvHeaderFill, offset, offset + take);
    this.#pdvHeaderFill += take;
    this.#pduRemaining -= take;
    if (this.#pdvHeaderFill < 6) {
      if (this.#pduRemaining === 0) throw new Error('P-DATA-TF ends inside a PDV header');
      return offset + take;
    }
    this.#pdvHeaderFill = 0;
    const itemLength = this.#pdvHeader.readUInt32BE(0);
    if (itemLength < 2 || itemLength - 2 > this.#pduRemaining)
      throw new Error(`PDV item length ${itemLength} does not fit its P-DATA-TF`);
    this.#pdvContext = this.#pdvHeader[4] ?? 0;
    this.#pdvFlags = this.#pdvHeader[5] ?? 0;
    this.#pdvRemaining = itemLength - 2;
    if (this.#pdvRemaining === 0) {
      // An empty PDV is legal (e.g. a zero-length last fragment): emit it so the message still completes.
      if (this.#pduRemaining === 0) this.#inPdu = false;
      this.#handler.pdv(
        this.#pdvContext,
        (this.#pdvFlags & 0x01) !== 0,
        Buffer.alloc(0),
        (this.#pdvFlags & 0x02) !== 0,
      );
    } else if (this.#pduRemaining === 0) {
      throw new Error('P-DATA-TF ends inside a PDV');
    }
    return offset + take;
  }
}
