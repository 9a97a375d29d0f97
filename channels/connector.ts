// The contract between the engine and the protocol folders. The engine (channels/) knows no protocol: a source
// connector turns bytes from a peer into an InboundMessage and answers the peer from the ReceiveOutcome; a
// destination connector delivers an OutboundMessage and says whether it was sent, should be retried, or failed
// for good. A DataType gives the filter and map steps a way to read and write fields of one kind of content.
import type { Logger } from '../runtime/log.ts';

/** Fields the message store indexes for search; the data type or the source extracts them. */
export interface MessageIndex {
  messageType?: string;
  controlId?: string;
  patientId?: string;
  accession?: string;
  orderNumber?: string;
  /** Who sent it (HL7 MSH-4.1): what a user limited to some facilities is shown by (admin-ui/message-routes.ts). */
  sendingFacility?: string;
}

export interface InboundMessage {
  /** The content as received, decoded to text (HL7 per MSH-18, JSON as UTF-8) or a reference for binaries. */
  raw: string;
  /** The data type name that parses `raw` (e.g. 'hl7v2', 'fhir', 'json', 'dicom', 'raw'). */
  dataType: string;
  /** Transport facts a filter may use: remote address, calling AE title, HTTP path. Never patient data. */
  source: Record<string, string>;
  index?: MessageIndex;
  /**
   * `raw` already parsed by the source (it had to read the header to answer the sender), handed over so the
   * pipeline does not parse it a second time; the pipeline owns it from then on and its map may change it.
   */
  document?: MessageDocument;
  /**
   * The source refused the message (it passed one of the source's limits) and tells the sender so: the pipeline
   * stores it as errored with this reason, so an analyst finds it, and neither filters, maps nor delivers it.
   */
  refusal?: string;
}

export type ReceiveOutcome =
  /** Stored durably and processed: enqueued to its destinations (possibly none). */
  | { status: 'accepted'; messageId: string }
  /** Stored durably; the channel's filter dropped it. The sender is still told it was received. */
  | { status: 'filtered'; messageId: string }
  /** Stored durably (if messageId is set) but could not be processed; `error` is safe to show the sender. */
  | { status: 'error'; messageId?: string; error: string }
  /** Stored durably as an error and sent to no destination: a destination's check refused it (see Refusal). */
  | { status: 'refused'; messageId: string; refusal: Refusal };

/**
 * Why a destination would not take a message, found before the message is acknowledged so the sender hears it
 * at once (HL7 AE/AR) rather than after an acceptance. `path` and `code` are in the data type's own terms
 * (HL7: `PID-3`, `ORC[2]-1`; a table 0357 code such as `101`); the engine only carries them to the source.
 */
export interface Refusal {
  /** 'rejected': a kind or form of message the destination does not take (HL7 AR); 'error': a wrong value (AE). */
  kind: 'rejected' | 'error';
  /** Safe to show the sender, who sent what it quotes; may hold patient data, so logs keep it at debug. */
  error: string;
  path?: string;
  code?: string;
}

/** What a destination's check sees: the content it would be sent, and what is still queued for it. */
export interface CheckRequest {
  channelId: string;
  destinationName: string;
  content: string;
  dataType: string;
  /**
   * The contents still queued for this destination (earlier messages not yet delivered), oldest first, at most
   * `limit`: a check that looks the destination's state up must count these as good as done.
   */
  queued(limit: number): Promise<string[]>;
}

export interface SourceContext {
  readonly channelId: string;
  readonly log: Logger;
  /** Resolves only after the message is durably stored; never rejects for a processing error (see ReceiveOutcome). */
  receive(message: InboundMessage): Promise<ReceiveOutcome>;
  /**
   * Several messages, stored in the order given and awaited together (they share commits); the outcomes come in
   * the same order. For a source that reads a batch from its own durable log and acknowledges it as a whole.
   */
  receiveMany(messages: readonly InboundMessage[]): Promise<ReceiveOutcome[]>;
}

export interface SourceConnector {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface OutboundMessage {
  messageId: string;
  channelId: string;
  destinationName: string;
  /** The destination's mapped content. */
  content: string;
  dataType: string;
  /** 1 on the first try. */
  attempt: number;
  /**
   * An analyst resent the message asking for all of it again: a connector that remembers partial progress
   * (dicom-scu remembers which instances the PACS stored) ignores it on the first attempt.
   */
  resendAll?: true;
}

export type SendResult =
  | { status: 'sent'; response?: string }
  /** A transient failure (peer down, AE, timeout): the queue retries with backoff. */
  | { status: 'retry'; error: string; response?: string }
  /** A permanent failure (e.g. HL7 AR): no retry, the delivery goes to error. */
  | { status: 'failed'; error: string; response?: string }
  /** Nothing went out: the connector was stopping (stopping()). Not an attempt: the item stays as it was. */
  | { status: 'not-sent'; error: string; response?: undefined };

/** The outcome of an attempt that was made. */
export type AttemptResult = Exclude<SendResult, { status: 'not-sent' }>;

export interface DestinationConnector {
  send(message: OutboundMessage): Promise<SendResult>;
  /**
   * Optional: sends `messages` one after another, in order, reporting each result as it comes, and stops after
   * the first that is not 'sent' (the rest are not attempted). A connector whose peer answers each message
   * (an HL7 ACK) can run such a run without a turn of the engine's event loop per message; an ordered queue
   * hands it the due head of the queue.
   */
  sendSequence?(messages: OutboundMessage[], onResult: (index: number, result: SendResult) => void): Promise<void>;
  /**
   * Optional: the engine is stopping and will wait for the delivery in hand. Give up what has not gone out yet
   * (a connection still being made, the rest of a run) so that wait is short; what was sent waits for its answer.
   */
  stopping?(): void;
  /**
   * Optional: would this destination take the message? Asked before the message is stored and acknowledged;
   * a refusal stores the message as an error, sends it to no destination and answers the sender with the
   * refusal. Reads only (it may run for a message that is then refused elsewhere) and never throws for the
   * message's content; a check that cannot decide returns undefined and leaves the decision to send().
   */
  check?(request: CheckRequest): Promise<Refusal | undefined>;
  stop(): Promise<void>;
}

export interface DestinationContext {
  readonly channelId: string;
  readonly destinationName: string;
  readonly log: Logger;
}

export interface SourceConnectorType<S> {
  readonly type: string;
  /**
   * Optional: a source that polls what every hub process sees (an event log, a folder) runs in one process at a
   * time, under a lease (channels/singleton-source.ts). Listening sources leave it out.
   */
  readonly oneProcessAtATime?: true;
  /** Checks untrusted settings; throws runtime/validate.ts ValidationError with `path` prefixed. */
  parseSettings(input: unknown, path: string): S;
  create(settings: S, context: SourceContext): SourceConnector;
}

export interface DestinationConnectorType<S> {
  readonly type: string;
  parseSettings(input: unknown, path: string): S;
  create(settings: S, context: DestinationContext): DestinationConnector;
}

/** A parsed message that filters and mappings read and write by path (HL7 `PID-3.1`, FHIRPath, JSON path). */
export interface MessageDocument {
  get(path: string): string | undefined;
  getAll(path: string): string[];
  set(path: string, value: string): void;
  /** Serialises back to the data type's wire form. */
  toString(): string;
  /** A plain JSON-safe view for the sandboxed JavaScript step. */
  toJSON(): unknown;
}

export interface DataType {
  readonly name: string;
  parse(raw: string): MessageDocument;
  /** Rebuilds a document from what the JavaScript step returned (the shape of toJSON()). */
  fromJSON(value: unknown): MessageDocument;
  index(document: MessageDocument): MessageIndex;
}
