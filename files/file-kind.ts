// What a dropped file holds, told by its first bytes rather than its name (senders name DICOM files `*.dcm`,
// `IM0001` or nothing at all): a DICOM Part-10 file has "DICM" after its 128-byte preamble (PS3.10 7.1), a ZIP
// starts with a local file header signature (APPNOTE 4.3.7); anything else is read as HL7 v2 text.
import { open } from 'node:fs/promises';

export type DroppedKind = 'dicom' | 'zip' | 'hl7v2';

export async function droppedKind(file: string): Promise<DroppedKind> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(132);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    if (bytesRead === 132 && head.toString('latin1', 128, 132) === 'DICM') return 'dicom';
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
    return 'hl7v2';
  } finally {
    await handle.close();
  }
}
