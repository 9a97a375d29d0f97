// What the SCP accepts at negotiation. Instances are stored exactly as received, so a transfer syntax is
// accepted only if the data set walker can read its element structure: the little-endian ones, native or
// encapsulated (PS3.5 A.4: encapsulated pixel data sits in an explicit VR LE data set), and deflated explicit
// LE (A.5), walked through an inflater. The retired big-endian syntax would need re-coding to be walked, so it
// is not offered; every sender also proposes implicit LE, the default for all (PS3.5 A.1).
import { transferSyntax } from './part10.ts';

export const acceptedTransferSyntaxes: ReadonlySet<string> = new Set([
  transferSyntax.explicitLittle,
  transferSyntax.implicitLittle,
  transferSyntax.deflatedExplicitLittle,
  '1.2.840.10008.1.2.4.50', // JPEG baseline
  '1.2.840.10008.1.2.4.51', // JPEG extended
  '1.2.840.10008.1.2.4.57', // JPEG lossless
  '1.2.840.10008.1.2.4.70', // JPEG lossless SV1
  '1.2.840.10008.1.2.4.80', // JPEG-LS lossless
  '1.2.840.10008.1.2.4.81', // JPEG-LS near-lossless
  '1.2.840.10008.1.2.4.90', // JPEG 2000 lossless
  '1.2.840.10008.1.2.4.91', // JPEG 2000
  '1.2.840.10008.1.2.4.201', // HTJ2K lossless
  '1.2.840.10008.1.2.4.202', // HTJ2K lossless RPCL
  '1.2.840.10008.1.2.4.203', // HTJ2K
  '1.2.840.10008.1.2.5', // RLE lossless
]);

/**
 * Storage SOP classes (PS3.4 annex B, PS3.6 annex A) all sit under 1.2.840.10008.5.1.4.1.1: images, SR,
 * encapsulated PDF/CDA, RT, presentation states. A prefix test accepts classes newer than any list we would
 * keep, which is what a store-and-forward hub wants: it never interprets the pixel data.
 */
export function isStorageSopClass(uid: string): boolean {
  return uid.startsWith('1.2.840.10008.5.1.4.1.1.');
}
