// What the viewer shows of a study: its series in series-number order, each a stack of images (every frame of
// every instance, in instance-number order) addressed as the hub's WADO-RS rendered resources. Read from QIDO-RS,
// so the viewer sees exactly what the reader's scope (a user's facilities, a consultant link's exam) lets
// DICOMweb answer.
import { get } from '../../api/client.ts';

type JsonDataset = Record<string, { Value?: unknown[] } | undefined>;

export interface StackImage {
  /** The rendered resource of this frame, without the rendering parameters. */
  url: string;
  instanceNumber: number | undefined;
  frame: number;
  frames: number;
}

export interface SeriesStack {
  uid: string;
  number: number | undefined;
  modality: string;
  description: string;
  thumbnail: string;
  images: StackImage[];
}

export interface StudyStacks {
  patientName: string;
  patientId: string;
  studyDate: string;
  description: string;
  series: SeriesStack[];
}

function first(dataset: JsonDataset | undefined, tag: string): unknown {
  return dataset?.[tag]?.Value?.[0];
}

function text(dataset: JsonDataset | undefined, tag: string): string {
  const value = first(dataset, tag);
  if (value !== null && typeof value === 'object' && 'Alphabetic' in value) return String(value.Alphabetic ?? '');
  return value === undefined || value === null ? '' : String(value);
}

function number(dataset: JsonDataset, tag: string): number | undefined {
  const value = Number(first(dataset, tag));
  return Number.isFinite(value) && first(dataset, tag) !== undefined ? value : undefined;
}

const byNumber = (a: number | undefined, b: number | undefined) =>
  (a ?? Number.MAX_SAFE_INTEGER) - (b ?? Number.MAX_SAFE_INTEGER);

/** QIDO answers at most `page` results at a time; a large CT has more instances than that. */
async function allInstances(root: string, page = 1000): Promise<JsonDataset[]> {
  const all: JsonDataset[] = [];
  for (;;) {
    const batch = await get<JsonDataset[]>(`${root}/instances?limit=${page}&offset=${all.length}`);
    all.push(...batch);
    if (batch.length < page) return all;
  }
}

/** `dicomweb`: the root to read from, `/dicomweb` with a session or a consultant link's `/consult/<token>/dicomweb`. */
export async function loadStudy(studyUid: string, dicomweb = '/dicomweb'): Promise<StudyStacks> {
  const root = `${dicomweb}/studies/${encodeURIComponent(studyUid)}`;
  const [[study], instances] = await Promise.all([
    get<JsonDataset[]>(`${dicomweb}/studies?StudyInstanceUID=${encodeURIComponent(studyUid)}`),
    allInstances(root),
  ]);
  const series = new Map<string, SeriesStack>();
  const ordered = [...instances].sort((a, b) => byNumber(number(a, '00200013'), number(b, '00200013')));
  for (const instance of ordered) {
    const uid = text(instance, '0020000E');
    let stack = series.get(uid);
    if (!stack) {
      stack = {
        uid,
        number: number(instance, '00200011'),
        modality: text(instance, '00080060'),
        description: text(instance, '0008103E'),
        thumbnail: `${root}/series/${encodeURIComponent(uid)}/thumbnail?viewport=96,96`,
        images: [],
      };
      series.set(uid, stack);
    }
    const path = `${root}/series/${encodeURIComponent(uid)}/instances/${encodeURIComponent(text(instance, '00080018'))}`;
    const frames = number(instance, '00280008') ?? 1;
    for (let frame = 1; frame <= frames; frame++)
      stack.images.push({
        url: frames === 1 ? `${path}/rendered` : `${path}/frames/${frame}/rendered`,
        instanceNumber: number(instance, '00200013'),
        frame,
        frames,
      });
  }
  return {
    patientName: text(study, '00100010'),
    patientId: text(study, '00100020'),
    studyDate: text(study, '00080020'),
    description: text(study, '00081030'),
    series: [...series.values()].sort((a, b) => byNumber(a.number, b.number)),
  };
}

/** A DICOM DA (YYYYMMDD) in the user's own date format; anything else as it came. */
export function dicomDate(value: string): string {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  if (!match) return value;
  return new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3])).toLocaleDateString(undefined, {
    dateStyle: 'medium',
  });
}

/** A DICOM PN (family^given^middle^prefix^suffix) as people read it: "FAMILY, Given Middle". */
export function personName(value: string): string {
  const [family = '', given = '', middle = ''] = value.split('^');
  const rest = [given, middle].filter(Boolean).join(' ');
  return rest ? `${family}, ${rest}` : family;
}

/** Grayscale windows a reader reaches for first (center, width in the modality's units, e.g. Hounsfield). */
export const windowPresets = [
  { value: 'default', label: 'Default' },
  { value: '40,400', label: 'Soft tissue' },
  { value: '-600,1500', label: 'Lung' },
  { value: '400,1800', label: 'Bone' },
  { value: '40,80', label: 'Brain' },
] as const;

export type WindowPreset = (typeof windowPresets)[number]['value'];

/** The rendered resource at a size that fits the pane (rounded, so neighbouring sizes share the browser's cache). */
export function imageSource(image: StackImage, box: { width: number; height: number }, window: WindowPreset): string {
  const round = (n: number) => Math.max(128, Math.ceil(n / 128) * 128);
  const query = new URLSearchParams({ viewport: `${round(box.width)},${round(box.height)}`, quality: '92' });
  if (window !== 'default') query.set('window', `${window},linear`);
  return `${image.url}?${query.toString()}`;
}
