// The hub's DICOM part: the study index, the study-completion jobs, the ingest and (with dicom.enabled) the C-STORE
// SCP, wired to the exams and the scheduler. The index, completion and ingest exist even with the listener off:
// STOW-RS, ImagingStudy and the dicom-scu destination use them too. DICOM ingest is a direct domain command, not a
// channel: the DIMSE status answered to the sender depends on the domain's decision (README, "Inbound paths").
import { mkdir } from 'node:fs/promises';
import type { HubConfig } from '../config/hub-config.ts';
import { AssociationActivity } from '../dicom/association-observer.ts';
import { InstanceCache } from '../dicom/instance-cache.ts';
import { StudyIngest } from '../dicom/ingest.ts';
import { type DicomListenerPanel, dicomListenerPanel } from '../dicom/listener-panel.ts';
import { DicomScp } from '../dicom/scp.ts';
import { findSopClasses } from '../dicom/scp-find.ts';
import { getSopClasses } from '../dicom/scp-get.ts';
import { moveSopClasses } from '../dicom/scp-move.ts';
import { studyFindService } from '../dicom/study-find.ts';
import { studyGetService, studyMoveService } from '../dicom/study-move.ts';
import { worklistService } from '../dicom/worklist.ts';
import { StudyCompletion } from '../dicom/study-completion.ts';
import { StudyIndex } from '../dicom/study-index.ts';
import type { ExamService } from '../exams/service.ts';
import type { Lifecycle } from '../runtime/lifecycle.ts';
import type { Logger } from '../runtime/log.ts';
import type { Scheduler } from '../runtime/scheduler.ts';
import { listening } from './listening.ts';
import type { HubDb } from '../store/db.ts';

export interface DicomDeps {
  readonly db: HubDb;
  readonly exams: ExamService;
  readonly scheduler: Scheduler;
  readonly log: Logger;
  readonly parts: Lifecycle;
}

/**
 * The study index, completion jobs and ingest, opened before the channels (dicom-scu destinations use the index);
 * the SCP listens only once listen() is called, after the channels are deployed, like the other listeners.
 */
export class DicomPart {
  readonly studies: StudyIndex;
  readonly ingest: StudyIngest;
  /** The calling AE of dicom-scu destinations that name none (config.dicom.aeTitle). */
  readonly aeTitle: string;
  /** What the SCP's associations did, for the dashboard. */
  readonly activity = new AssociationActivity();
  /** Small instances retrieved lately over DICOMweb (config.dicom.retrieveCacheMiB); undefined when 0. */
  readonly retrieveCache: InstanceCache | undefined;
  readonly #config: HubConfig;
  readonly #deps: DicomDeps;
  #listener: ScpListener | undefined;

  constructor(config: HubConfig, deps: DicomDeps, studies: StudyIndex, ingest: StudyIngest) {
    this.#config = config;
    this.#deps = deps;
    this.studies = studies;
    this.ingest = ingest;
    this.aeTitle = config.dicom.aeTitle;
    const cacheBytes = config.dicom.retrieveCacheMiB * 1024 * 1024;
    this.retrieveCache = cacheBytes > 0 ? new InstanceCache(cacheBytes) : undefined;
  }

  /** Starts the C-STORE SCP when dicom.enabled. */
  async listen(): Promise<void> {
    if (!this.#config.dicom.enabled) return;
    const { exams, log, parts } = this.#deps;
    this.#listener = await startScp(this.#config, exams, this.ingest, this.studies, log, parts, this.activity);
  }

  /** The dashboard's DICOM panel; undefined with the listener off. */
  async panel(): Promise<DicomListenerPanel | undefined> {
    if (!this.#config.dicom.enabled) return undefined;
    return dicomListenerPanel(this.studies, this.activity);
  }

  /** The /health entry: the listener's state, or that it is off. */
  health(): Record<string, string | number | boolean> {
    if (!this.#config.dicom.enabled) return { ok: true, enabled: false };
    return {
      ok: this.#listener?.listening ?? false,
      aeTitle: this.aeTitle,
      port: this.#listener?.port ?? this.#config.dicom.port,
    };
  }
}

export async function openDicom(config: HubConfig, deps: DicomDeps): Promise<DicomPart> {
  const { exams, log } = deps;
  const studies = new StudyIndex(deps.db);
  await studies.ensureIndexes();
  exams.lists.countStudiesWith(studies);
  await mkdir(config.dicom.storageDir, { recursive: true });
  const completion = new StudyCompletion({
    scheduler: deps.scheduler,
    index: studies,
    exams,
    log: log.child({ part: 'dicom-completion' }),
  });
  completion.define();
  await completion.start();
  const ingest = new StudyIngest({
    exams,
    index: studies,
    completion,
    storageDir: config.dicom.storageDir,
    duplicateInstances: config.dicom.duplicateInstances,
    studyQuietSeconds: config.dicom.studyQuietSeconds,
    syncStorage: true,
    log: log.child({ part: 'dicom-ingest' }),
  });
  deps.parts.add('dicom-ingest', ingest);
  return new DicomPart(config, deps, studies, ingest);
}

/** The SCP as a lifecycle part that knows whether it is listening (for /health). */
class ScpListener {
  readonly #scp: DicomScp;
  #listening = false;

  constructor(scp: DicomScp) {
    this.#scp = scp;
  }

  get listening(): boolean {
    return this.#listening;
  }

  get port(): number {
    return this.#scp.port;
  }

  async start(): Promise<void> {
    await this.#scp.start();
    this.#listening = true;
  }

  async stop(): Promise<void> {
    this.#listening = false;
    await this.#scp.stop();
  }
}

/**
 * The SCP: known calling AE titles only (a facility's), every stored instance through the ingest, and the
 * facility's Modality Worklist and its studies (Study Root, study level) by C-FIND, and its studies to its own
 * move destinations by C-MOVE or back to the caller by C-GET.
 */
async function startScp(
  config: HubConfig,
  exams: ExamService,
  ingest: StudyIngest,
  studies: StudyIndex,
  log: Logger,
  parts: Lifecycle,
  observer: AssociationActivity,
): Promise<ScpListener> {
  const scp = new DicomScp({
    aeTitle: config.dicom.aeTitle,
    host: config.dicom.host,
    port: config.dicom.port,
    ...config.dicom.limits,
    ...(config.dicom.tls === undefined ? {} : { tls: config.dicom.tls }),
    storageDir: config.dicom.storageDir,
    // The ingest moves each file into its study folder itself: one rename and one directory sync per instance,
    // overlapping the file's fdatasync and the index commit.
    handOver: true,
    observer,
    log: log.child({ part: 'dicom' }),
    isKnownCallingAe: async (ae) => (await exams.facilities.findByAeTitle(ae)) !== undefined,
    findServices: new Map([
      [findSopClasses.worklist, worklistService(exams)],
      [findSopClasses.studyRoot, studyFindService(studies, exams.facilities, config.dicom.aeTitle)],
    ]),
    moveServices: new Map([
      [moveSopClasses.studyRoot, studyMoveService(studies, exams.facilities, config.dicom.aeTitle)],
    ]),
    getServices: new Map([[getSopClasses.studyRoot, studyGetService(studies, exams.facilities)]]),
    onInstanceStored: async (instance, sealed) => {
      const facility = await exams.facilities.findByAeTitle(instance.callingAe);
      if (!facility) throw new Error(`calling AE ${instance.callingAe} no longer belongs to an active facility`);
      await ingest.ingest(
        instance,
        { facility, source: instance.callingAe, via: 'dicom', callingAe: instance.callingAe },
        sealed,
      );
    },
  });
  return listening(config, 'dicom', () => parts.start('dicom', new ScpListener(scp), (listener) => listener.start()));
}
