// Shared set-up of the DICOM workflow tests through the real hub process: the sample facility (with its
// radiologist PACS pointed wherever the test wants), a hub config with a short quiet time, studies written with
// test/dicom/make-instance.ts and sent with dcmtk's storescu, and FHIR/index look-ups.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImagingStudy } from '@medplum/fhirtypes';
import type { ExecutionContext } from 'ava';
import { DicomScp, type StoredInstance } from '../../dicom/scp.ts';
import { spec, uid, writeInstance, type InstanceSpec } from '../dicom/make-instance.ts';
import { missingBinaries, runTool, type CommandResult } from '../dicom/peers.ts';
import {
  api,
  defaultTestConfig,
  freePort,
  repoRoot,
  startHub,
  tempDir,
  waitHealthy,
  type HubProcess,
} from '../support/hub-process.ts';

export const hubAe = 'RSO_HUB';

/** Short quiet time and fast polling so a study completes within seconds (brief: 1-2 s). */
export const dicomTestConfig = `${defaultTestConfig}dicom:
  enabled: true
  aeTitle: ${hubAe}
  studyQuietSeconds: 1
`;

export async function valleyFacility(
  overrides: Record<string, unknown> = {},
): Promise<{ code: string } & Record<string, unknown>> {
  const facility = JSON.parse(
    await readFile(path.join(repoRoot, 'config', 'facilities', 'valley-general.json'), 'utf8'),
  ) as { code: string } & Record<string, unknown>;
  return { ...facility, ...overrides };
}

export function studiesToPacsChannel(extra: Record<string, unknown> = {}) {
  return {
    id: 'studies-to-pacs',
    name: 'Complete studies to the radiologist PACS',
    enabled: true,
    source: { type: 'exam-events', settings: { types: ['exam.study-complete'], pollMs: 50 } },
    destinations: [
      {
        name: 'radiologist-pacs',
        connector: {
          type: 'dicom-scu',
          settings: { target: 'facility-pacs', callingAe: hubAe, connectTimeoutMs: 1000, responseTimeoutMs: 10_000 },
        },
        queue: 'ordered',
        retry: { initialDelayMs: 200, maxDelayMs: 500, multiplier: 2 },
        maxAttempts: 0,
      },
    ],
    ...extra,
  };
}

export interface TestStudy {
  studyInstanceUid: string;
  files: string[];
  sopInstanceUids: string[];
}

/** `count` CT instances of one study (one series), written to a temp dir. */
export async function writeStudy(count: number, tags: Partial<InstanceSpec> = {}): Promise<TestStudy> {
  const dir = await tempDir('dicom-study');
  const studyInstanceUid = tags.studyInstanceUid ?? uid();
  const seriesInstanceUid = tags.seriesInstanceUid ?? uid();
  const files: string[] = [];
  const sopInstanceUids: string[] = [];
  for (let i = 0; i < count; i++) {
    const instance = spec({
      pixelBytes: 8 * 1024,
      ...tags,
      studyInstanceUid,
      seriesInstanceUid,
      sopInstanceUid: uid(),
    });
    const file = path.join(dir, `ct-${i}.dcm`);
    await writeInstance(file, instance);
    files.push(file);
    sopInstanceUids.push(instance.sopInstanceUid);
  }
  return { studyInstanceUid, files, sopInstanceUids };
}

export function storescu(
  hub: HubProcess,
  callingAe: string,
  files: string[],
  extra: string[] = [],
): Promise<CommandResult> {
  return runTool('storescu', [
    '-v',
    '-aet',
    callingAe,
    '-aec',
    hubAe,
    ...extra,
    '127.0.0.1',
    String(hub.dicomPort),
    ...files,
  ]);
}

/** SOP Instance UIDs storescu reported success for (its -v log: "Sending file", then the response). */
export function acknowledged(result: CommandResult, study: TestStudy): string[] {
  const log = `${result.stdout}\n${result.stderr}`.split('\n');
  const done: string[] = [];
  let current: string | undefined;
  for (const line of log) {
    const sending = /Sending file: (.*)$/.exec(line);
    if (sending) current = sending[1]?.trim();
    if (/Received Store Response \(Success\)/.test(line) && current !== undefined) {
      const index = study.files.indexOf(current);
      if (index >= 0) done.push(study.sopInstanceUids[index]!);
    }
  }
  return done;
}

export async function fhir<T>(hub: HubProcess, pathname: string, init?: RequestInit): Promise<T> {
  const response = await api(hub, `/fhir/R4/${pathname}`, init);
  if (!response.ok) throw new Error(`${pathname}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function imagingStudy(hub: HubProcess, studyInstanceUid: string): Promise<ImagingStudy | undefined> {
  const response = await api(hub, `/fhir/R4/ImagingStudy/${studyInstanceUid}`);
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`ImagingStudy/${studyInstanceUid}: ${response.status} ${await response.text()}`);
  return (await response.json()) as ImagingStudy;
}

export interface DeliveryView {
  state: string;
  attempts: number;
  lastError?: string;
  response?: string;
}

/** The studies-to-pacs messages of the hub, with the radiologist-pacs delivery of each (admin API). */
export async function pacsDeliveries(hub: HubProcess): Promise<DeliveryView[]> {
  const list = (await (await api(hub, '/api/messages?channelId=studies-to-pacs')).json()) as {
    items: Array<{ id?: string; _id?: string }>;
  };
  const views: DeliveryView[] = [];
  for (const item of list.items) {
    const message = (await (await api(hub, `/api/messages/${item.id ?? item._id}`)).json()) as {
      destinations: Array<DeliveryView & { name: string }>;
    };
    const delivery = message.destinations.find((d) => d.name === 'radiologist-pacs');
    if (delivery) views.push(delivery);
  }
  return views;
}

/** SOP Instance UIDs Orthanc holds for the study. */
export async function orthancInstances(
  orthanc: { get(pathname: string): Promise<unknown> },
  studyInstanceUid: string,
): Promise<{ uids: string[]; patientIds: string[] }> {
  const studies = (await orthanc.get('/studies?expand')) as Array<{
    ID: string;
    MainDicomTags: { StudyInstanceUID?: string };
    PatientMainDicomTags?: { PatientID?: string };
  }>;
  const study = studies.find((s) => s.MainDicomTags.StudyInstanceUID === studyInstanceUid);
  if (!study) return { uids: [], patientIds: [] };
  const instances = (await orthanc.get(`/studies/${study.ID}/instances`)) as Array<{
    MainDicomTags: { SOPInstanceUID?: string };
  }>;
  return {
    uids: instances.map((i) => i.MainDicomTags.SOPInstanceUID ?? ''),
    patientIds: [study.PatientMainDicomTags?.PatientID ?? ''],
  };
}

/**
 * The hub's own SCP as a PACS that answers 0xA700 for the instances `refuse` picks: neither dcmtk's storescp nor
 * Orthanc can be told to refuse individual instances from the command line. `received` lists every attempt.
 */
export async function refusingPacs(t: ExecutionContext, aeTitle: string, refuse: (sopInstanceUid: string) => boolean) {
  const received: string[] = [];
  const pacs = new DicomScp({
    aeTitle,
    host: '127.0.0.1',
    port: 0,
    storageDir: await tempDir('refusing-pacs'),
    syncStorage: false,
    isKnownCallingAe: () => true,
    onInstanceStored: async (instance: StoredInstance) => {
      received.push(instance.sopInstanceUid);
      if (refuse(instance.sopInstanceUid)) throw new Error('refused for the test');
    },
  });
  await pacs.start();
  t.teardown(() => pacs.stop());
  return { pacs, received };
}

/** A healthy hub with the DICOM listener and an MLLP orders channel into the exams: orders first, then images. */
export async function startOrdersHub(): Promise<{ hub: HubProcess; mllpPort: number }> {
  const missing = missingBinaries(['storescu']);
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: apt-get install -y dcmtk`);
  const mllpPort = await freePort();
  const hub = await startHub({
    config: dicomTestConfig,
    facilities: [await valleyFacility()],
    channels: [
      {
        id: 'valley-orders',
        name: 'Valley orders to exams',
        enabled: true,
        source: { type: 'mllp', settings: { host: '127.0.0.1', port: mllpPort, messageTypes: ['ORM^O01'] } },
        destinations: [
          { name: 'exams', connector: { type: 'rso-exams', settings: { timeZone: 'UTC' } }, queue: 'ordered' },
        ],
      },
    ],
  });
  await waitHealthy(hub);
  return { hub, mllpPort };
}
