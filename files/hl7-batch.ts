// Splits the text of a dropped HL7 v2 file into its messages: one message, several back to back, or a batch file
// (v2.5 ch. 2.10.3: [FHS] {[BHS] {MSH …} [BTS]} [FTS]). The envelope segments are not messages and are dropped;
// a BTS-1 or FTS-1 count that does not match what was read refuses the file, since a batch cut short must not pass
// for a complete one. Segments may end in CR, LF or CRLF; MLLP framing bytes left in a file are ignored.
/** MLLP's start and end block bytes (HL7 v2 appendix C.4.3). */
const startBlock = String.fromCharCode(0x0b);
const endBlock = String.fromCharCode(0x1c);

export type BatchSplit = { messages: string[] } | { error: string };

export function splitHl7File(text: string): BatchSplit {
  const segments = text
    .replaceAll(startBlock, '')
    .replaceAll(endBlock, '')
    .split(/\r\n|\r|\n/)
    .filter((segment) => segment.trim() !== '');
  const messages: string[] = [];
  let current: string[] | undefined;
  let batchStart = 0;
  let batches = 0;
  const finish = (): void => {
    if (current !== undefined) messages.push(`${current.join('\r')}\r`);
    current = undefined;
  };
  for (const [i, segment] of segments.entries()) {
    const id = segment.slice(0, 3);
    const separator = segment[3] ?? '|';
    if (id === 'FHS') continue;
    if (id === 'BHS') {
      finish();
      batchStart = messages.length;
      continue;
    }
    if (id === 'BTS' || id === 'FTS') {
      finish();
      const declared = segment.split(separator)[1]?.trim();
      const read = id === 'BTS' ? messages.length - batchStart : batches;
      if (id === 'BTS') batches += 1;
      else if (batches === 0) continue;
      if (declared && /^\d+$/.test(declared) && Number(declared) !== read)
        return { error: `${id}-1 says ${declared} ${id === 'BTS' ? 'messages' : 'batches'}, the file holds ${read}` };
      continue;
    }
    if (id === 'MSH') {
      finish();
      current = [segment];
      continue;
    }
    if (current === undefined) return { error: `segment ${i + 1} (${id}) comes before any MSH` };
    current.push(segment);
  }
  finish();
  if (messages.length === 0) return { error: 'the file holds no HL7 message (no MSH segment)' };
  return { messages };
}
