// WADO-RS frames (PS3.18 10.4.1.1.4 and 8.7.3.3.2): the pixel data of chosen frames without transcoding. Native
// pixel data is cut into frames of Rows x Columns x Samples x BitsAllocated/8 bytes and sent as
// application/octet-stream in Explicit VR Little Endian; encapsulated frames (PS3.5 A.4) go out as stored, each
// with the media type of its transfer syntax (PS3.18 table 8.7.3-5) and that transfer syntax named in the part.
import { HttpError } from '../http/http-error.ts';
import { numberOf, pixelDataTag, type ParsedInstance } from './stored-instance.ts';

const nativeSyntaxes = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1.99']);
const explicitLittle = '1.2.840.10008.1.2.1';

/** Media types of compressed pixel data by transfer syntax (PS3.18 table 8.7.3-5). */
const mediaTypes: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.4.50': 'image/jpeg',
  '1.2.840.10008.1.2.4.51': 'image/jpeg',
  '1.2.840.10008.1.2.4.57': 'image/jpeg',
  '1.2.840.10008.1.2.4.70': 'image/jpeg',
  '1.2.840.10008.1.2.4.80': 'image/jls',
  '1.2.840.10008.1.2.4.81': 'image/jls',
  '1.2.840.10008.1.2.4.90': 'image/jp2',
  '1.2.840.10008.1.2.4.91': 'image/jp2',
  '1.2.840.10008.1.2.4.92': 'image/jpx',
  '1.2.840.10008.1.2.4.93': 'image/jpx',
  '1.2.840.10008.1.2.4.201': 'image/jphc',
  '1.2.840.10008.1.2.4.202': 'image/jphc',
  '1.2.840.10008.1.2.4.203': 'image/jphc',
  '1.2.840.10008.1.2.5': 'image/dicom-rle',
};

export interface Frames {
  /** The Content-Type of each part, transfer-syntax parameter included. */
  partType: string;
  /** The media type for the multipart `type` parameter. */
  mediaType: string;
  frames: Buffer[];
}

/** `1,3,5` (1-based, PS3.18 8.3.3.1). */
export function parseFrameList(text: string): number[] {
  const numbers = text.split(',').map((item) => item.trim());
  if (numbers.length === 0 || numbers.some((n) => !/^[1-9]\d{0,8}$/.test(n)))
    throw new HttpError(400, `frames: "${text}" is not a list of frame numbers (1, 2, ...)`);
  return numbers.map(Number);
}

export function framesOf(instance: ParsedInstance, wanted: readonly number[]): Frames {
  const { dict, transferSyntaxUid } = instance;
  const pixelData = dict[pixelDataTag]?.Value;
  if (pixelData === undefined || pixelData.length === 0) throw new HttpError(404, 'the instance has no pixel data');
  const buffers = pixelData.filter((v): v is ArrayBuffer => v instanceof ArrayBuffer).map((v) => Buffer.from(v));
  const count = numberOf(dict, '00280008') ?? 1;
  const all = nativeSyntaxes.has(transferSyntaxUid)
    ? nativeFrames(instance, buffers, count)
    : encapsulated(buffers, count);
  const missing = wanted.find((n) => n > all.length);
  if (missing !== undefined) throw new HttpError(404, `frame ${missing}: the instance has ${all.length} frame(s)`);
  const frames = wanted.map((n) => all[n - 1]!);
  if (nativeSyntaxes.has(transferSyntaxUid)) {
    const mediaType = 'application/octet-stream';
    return { mediaType, partType: `${mediaType}; transfer-syntax=${explicitLittle}`, frames };
  }
  const mediaType = mediaTypes[transferSyntaxUid] ?? 'application/octet-stream';
  return { mediaType, partType: `${mediaType}; transfer-syntax=${transferSyntaxUid}`, frames };
}

function nativeFrames(instance: ParsedInstance, buffers: Buffer[], count: number): Buffer[] {
  const { dict } = instance;
  const bits =
    (numberOf(dict, '00280010') ?? 0) *
    (numberOf(dict, '00280011') ?? 0) *
    (numberOf(dict, '00280002') ?? 1) *
    (numberOf(dict, '00280100') ?? 8);
  const data = buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers);
  // Bit-packed frames (BitsAllocated 1) need not start on a byte; cutting them would need shifting every byte.
  if (bits === 0 || bits % 8 !== 0) throw new HttpError(501, 'frames of bit-packed pixel data are not served');
  const size = bits / 8;
  const frames: Buffer[] = [];
  for (let i = 0; i < count && (i + 1) * size <= data.length; i++) frames.push(data.subarray(i * size, (i + 1) * size));
  return frames;
}

function encapsulated(fragments: Buffer[], count: number): Buffer[] {
  if (fragments.length === count) return fragments;
  if (count === 1) return [Buffer.concat(fragments)];
  // Several fragments per frame and no Basic Offset Table: dcmjs cannot say where a frame ends (PS3.5 A.4 lets
  // a JPEG frame be found by its end marker, which needs a codec-aware split).
  throw new HttpError(501, 'the frames of this instance cannot be told apart (no Basic Offset Table)');
}
