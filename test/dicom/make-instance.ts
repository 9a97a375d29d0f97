// Writes Part-10 CT instances of a chosen size for tests and the benchmark: a real-looking header (patient,
// study, series, an undefined-length sequence) and native pixel data of random bytes. Written by hand rather
// than with dcmjs so that a 20 MB instance costs one buffer, and so the exact bytes are known to compare.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { buildFileMeta, parseFileMeta, transferSyntax } from '../../dicom/part10.ts';

export const ctImageStorage = '1.2.840.10008.5.1.4.1.1.2';

export interface InstanceSpec {
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  patientId: string;
  /** (0010,0021) Issuer of Patient ID, written only when given. */
  issuerOfPatientId?: string;
  patientName: string;
  accessionNumber: string;
  /** Size of the pixel data value; rows × columns × 2 bytes. */
  pixelBytes: number;
  implicitVr?: boolean;
  /** Pixel data as encapsulated fragments (PS3.5 A.4) under JPEG baseline; the bytes are not a real JPEG, which
   * no store-and-forward peer needs to know. */
  encapsulated?: boolean;
  /** Encode the sequence with undefined length (dcmtk re-encodes those with explicit length when sending). */
  undefinedLengthSequence?: boolean;
  /** Default 20240517. */
  studyDate?: string;
  /** Default CT. */
  modality?: string;
  /** Written only when given, like the two below. */
  studyDescription?: string;
  patientBirthDate?: string;
  patientSex?: string;
  /** Attributes to leave out, by keyword, to build broken instances. */
  omit?: string[];
}

interface Element {
  group: number;
  element: number;
  vr: string;
  keyword: string;
  value: Buffer;
  undefinedLength?: boolean;
}

const longVrs = new Set(['OB', 'OW', 'SQ', 'UN', 'UT']);

function text(value: string, vr: string): Buffer {
  const pad = vr === 'UI' ? '\0' : ' ';
  return Buffer.from(value.length % 2 === 1 ? value + pad : value, 'latin1');
}

function us(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16LE(value, 0);
  return bytes;
}

function encode(elements: Element[], implicit: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const item of elements) {
    const length = item.undefinedLength === true ? 0xffffffff : item.value.length;
    let header: Buffer;
    if (implicit) {
      header = Buffer.alloc(8);
      header.writeUInt32LE(length, 4);
    } else if (longVrs.has(item.vr)) {
      header = Buffer.alloc(12);
      header.write(item.vr, 4, 'latin1');
      header.writeUInt32LE(length, 8);
    } else {
      header = Buffer.alloc(8);
      header.write(item.vr, 4, 'latin1');
      header.writeUInt16LE(length, 6);
    }
    header.writeUInt16LE(item.group, 0);
    header.writeUInt16LE(item.element, 2);
    parts.push(header, item.value);
  }
  return Buffer.concat(parts);
}

/** A sequence with one item (PS3.5 7.5); with undefined lengths it exercises the walker's nesting. */
function referencedStudySequence(implicit: boolean, undefinedLength: boolean): Buffer {
  const inner = encode(
    [
      { group: 0x0008, element: 0x1150, vr: 'UI', keyword: '', value: text('1.2.840.10008.3.1.2.3.1', 'UI') },
      { group: 0x0008, element: 0x1155, vr: 'UI', keyword: '', value: text('1.2.3.4.5.6.7', 'UI') },
    ],
    implicit,
  );
  const item = Buffer.alloc(8);
  item.writeUInt16LE(0xfffe, 0);
  item.writeUInt16LE(0xe000, 2);
  item.writeUInt32LE(undefinedLength ? 0xffffffff : inner.length, 4);
  if (!undefinedLength) return Buffer.concat([item, inner]);
  const itemEnd = Buffer.alloc(8);
  itemEnd.writeUInt16LE(0xfffe, 0);
  itemEnd.writeUInt16LE(0xe00d, 2);
  const seqEnd = Buffer.alloc(8);
  seqEnd.writeUInt16LE(0xfffe, 0);
  seqEnd.writeUInt16LE(0xe0dd, 2);
  return Buffer.concat([item, inner, itemEnd, seqEnd]);
}

/** The data set alone (what travels in C-STORE), in the spec's transfer syntax. */
export function buildDataset(spec: InstanceSpec): Buffer {
  const implicit = spec.implicitVr === true;
  const side = Math.max(1, Math.floor(Math.sqrt(spec.pixelBytes / 2)));
  const rows = Math.max(1, Math.floor(spec.pixelBytes / 2 / side));
  const pixels = randomBytes(rows * side * 2);
  const elements: Element[] = [
    { group: 0x0008, element: 0x0005, vr: 'CS', keyword: 'SpecificCharacterSet', value: text('ISO_IR 192', 'CS') },
    { group: 0x0008, element: 0x0016, vr: 'UI', keyword: 'SOPClassUID', value: text(ctImageStorage, 'UI') },
    { group: 0x0008, element: 0x0018, vr: 'UI', keyword: 'SOPInstanceUID', value: text(spec.sopInstanceUid, 'UI') },
    { group: 0x0008, element: 0x0020, vr: 'DA', keyword: 'StudyDate', value: text(spec.studyDate ?? '20240517', 'DA') },
    { group: 0x0008, element: 0x0050, vr: 'SH', keyword: 'AccessionNumber', value: text(spec.accessionNumber, 'SH') },
    { group: 0x0008, element: 0x0060, vr: 'CS', keyword: 'Modality', value: text(spec.modality ?? 'CT', 'CS') },
    ...optional(0x0008, 0x1030, 'LO', 'StudyDescription', spec.studyDescription),
    {
      group: 0x0008,
      element: 0x1110,
      vr: 'SQ',
      keyword: 'ReferencedStudySequence',
      value: referencedStudySequence(implicit, spec.undefinedLengthSequence === true),
      undefinedLength: spec.undefinedLengthSequence === true,
    },
    {
      group: 0x0010,
      element: 0x0010,
      vr: 'PN',
      keyword: 'PatientName',
      value: Buffer.from(padEven(spec.patientName), 'utf8'),
    },
    { group: 0x0010, element: 0x0020, vr: 'LO', keyword: 'PatientID', value: text(spec.patientId, 'LO') },
    ...(spec.issuerOfPatientId === undefined
      ? []
      : [
          {
            group: 0x0010,
            element: 0x0021,
            vr: 'LO',
            keyword: 'IssuerOfPatientID',
            value: text(spec.issuerOfPatientId, 'LO'),
          },
        ]),
    ...optional(0x0010, 0x0030, 'DA', 'PatientBirthDate', spec.patientBirthDate),
    ...optional(0x0010, 0x0040, 'CS', 'PatientSex', spec.patientSex),
    { group: 0x0020, element: 0x000d, vr: 'UI', keyword: 'StudyInstanceUID', value: text(spec.studyInstanceUid, 'UI') },
    {
      group: 0x0020,
      element: 0x000e,
      vr: 'UI',
      keyword: 'SeriesInstanceUID',
      value: text(spec.seriesInstanceUid, 'UI'),
    },
    { group: 0x0020, element: 0x0013, vr: 'IS', keyword: 'InstanceNumber', value: text('1', 'IS') },
    { group: 0x0028, element: 0x0002, vr: 'US', keyword: 'SamplesPerPixel', value: us(1) },
    {
      group: 0x0028,
      element: 0x0004,
      vr: 'CS',
      keyword: 'PhotometricInterpretation',
      value: text('MONOCHROME2', 'CS'),
    },
    { group: 0x0028, element: 0x0010, vr: 'US', keyword: 'Rows', value: us(rows) },
    { group: 0x0028, element: 0x0011, vr: 'US', keyword: 'Columns', value: us(side) },
    { group: 0x0028, element: 0x0100, vr: 'US', keyword: 'BitsAllocated', value: us(16) },
    { group: 0x0028, element: 0x0101, vr: 'US', keyword: 'BitsStored', value: us(16) },
    { group: 0x0028, element: 0x0102, vr: 'US', keyword: 'HighBit', value: us(15) },
    { group: 0x0028, element: 0x0103, vr: 'US', keyword: 'PixelRepresentation', value: us(0) },
    spec.encapsulated === true
      ? {
          group: 0x7fe0,
          element: 0x0010,
          vr: 'OB',
          keyword: 'PixelData',
          value: fragments(pixels),
          undefinedLength: true,
        }
      : { group: 0x7fe0, element: 0x0010, vr: 'OW', keyword: 'PixelData', value: pixels },
  ];
  const omit = new Set(spec.omit ?? []);
  return encode(
    elements.filter((item) => !omit.has(item.keyword)),
    implicit,
  );
}

function optional(group: number, element: number, vr: string, keyword: string, value: string | undefined): Element[] {
  return value === undefined ? [] : [{ group, element, vr, keyword, value: text(value, vr) }];
}

/** Empty basic offset table item, one fragment, sequence delimiter (PS3.5 A.4). */
function fragments(pixels: Buffer): Buffer {
  const data = pixels.length % 2 === 1 ? Buffer.concat([pixels, Buffer.alloc(1)]) : pixels;
  const item = (length: number): Buffer => {
    const header = Buffer.alloc(8);
    header.writeUInt16LE(0xfffe, 0);
    header.writeUInt16LE(0xe000, 2);
    header.writeUInt32LE(length, 4);
    return header;
  };
  const end = Buffer.alloc(8);
  end.writeUInt16LE(0xfffe, 0);
  end.writeUInt16LE(0xe0dd, 2);
  return Buffer.concat([item(0), item(data.length), data, end]);
}

export const jpegBaseline = '1.2.840.10008.1.2.4.50';

function padEven(value: string): string {
  return Buffer.byteLength(value, 'utf8') % 2 === 1 ? `${value} ` : value;
}

export function buildPart10(spec: InstanceSpec): Buffer {
  const meta = buildFileMeta({
    sopClassUid: ctImageStorage,
    sopInstanceUid: spec.sopInstanceUid,
    transferSyntaxUid:
      spec.encapsulated === true
        ? jpegBaseline
        : spec.implicitVr === true
          ? transferSyntax.implicitLittle
          : transferSyntax.explicitLittle,
    sourceAe: 'MAKER',
  });
  return Buffer.concat([meta, buildDataset(spec)]);
}

export async function writeInstance(filePath: string, spec: InstanceSpec): Promise<Buffer> {
  const bytes = buildPart10(spec);
  await writeFile(filePath, bytes);
  return bytes;
}

/** The data set of a Part-10 file: a receiver writes a file meta header of its own, so copies compare by this. */
export function datasetOf(bytes: Buffer, what: string): Buffer {
  return bytes.subarray(parseFileMeta(bytes, what).datasetOffset);
}

let counter = 0;

/** UIDs under the 2.25 root with a per-run random part, so concurrent tests never collide. */
export function uid(): string {
  counter += 1;
  return `2.25.${BigInt(`0x${randomBytes(12).toString('hex')}`)}.${counter}`;
}

export function spec(overrides: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    sopInstanceUid: uid(),
    studyInstanceUid: uid(),
    seriesInstanceUid: uid(),
    patientId: 'RSO-000123',
    patientName: 'Müller^Anna',
    accessionNumber: 'ACC-42',
    pixelBytes: 64 * 1024,
    ...overrides,
  };
}
