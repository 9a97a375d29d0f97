// The hub's upload part (hub.yaml `upload`): the accounts and login throttle, the processor that sends each
// finished upload through the DICOM ingest, the upload log, and the SFTP and FTPS listeners. Opened after the DICOM
// part (it uses its ingest); the listeners start with the others, once the channels are deployed.
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, open, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { HubConfig } from '../config/hub-config.ts';
import type { ExamService } from '../exams/service.ts';
import type { Lifecycle } from '../runtime/lifecycle.ts';
import { serverTlsOptions } from '../runtime/listener.ts';
import { errorText, type Logger } from '../runtime/log.ts';
import type { HubDb } from '../store/db.ts';
import { type UploadAccount, UploadAccounts } from '../upload/accounts.ts';
import type { FtpsServer } from '../upload/ftps-server.ts';
import { Jail, type JailedPath } from '../upload/jail.ts';
import { LoginThrottle } from '../upload/login-throttle.ts';
import type { SftpServer } from '../upload/sftp-server.ts';
import { UploadLog } from '../upload/upload-log.ts';
import { type StoreInstance, UploadProcessor } from '../upload/upload-processor.ts';
import { describePart10File, InstanceRefusal } from '../dicom/part10-file.ts';
import type { StudyIngest } from '../dicom/ingest.ts';
import type { DroppedImages, ImagesOutcome } from '../files/file-drop-source.ts';
import type { DicomPart } from './dicom.ts';
import { listening } from './listening.ts';

export interface UploadDeps {
  readonly db: HubDb;
  readonly exams: ExamService;
  readonly dicom: DicomPart;
  readonly log: Logger;
  readonly parts: Lifecycle;
}

type Verdict = { ok: boolean; message: string };

export class UploadPart {
  readonly uploads: UploadLog;
  readonly processor: UploadProcessor;
  readonly #config: HubConfig;
  readonly #deps: UploadDeps;
  readonly #accounts: UploadAccounts;
  #sftp: SftpServer | undefined;
  #ftps: FtpsServer | undefined;

  constructor(config: HubConfig, deps: UploadDeps, uploads: UploadLog, processor: UploadProcessor) {
    this.#config = config;
    this.#deps = deps;
    this.uploads = uploads;
    this.processor = processor;
    const log = deps.log.child({ part: 'upload' });
    this.#accounts = new UploadAccounts(config.upload.accounts, new LoginThrottle(config.upload.lockout), log);
  }

  /** Starts the SFTP and FTPS listeners that are enabled. */
  async listen(): Promise<void> {
    const { upload, dataDir } = this.#config;
    const log = this.#deps.log.child({ part: 'upload' });
    const common = {
      accounts: this.#accounts,
      maxFileBytes: upload.maxFileBytes,
      jailFor: (account: UploadAccount) => this.#jailFor(account),
    };
    // Each listener's modules load only when it is enabled: ssh2 and ftp-srv (with its dependencies) cost a hub
    // that takes no uploads 20-30 MiB (`npm run bench -- footprint`).
    if (upload.sftp.enabled) {
      const [{ SftpServer }, { hostKey }] = await Promise.all([
        import('../upload/sftp-server.ts'),
        import('../upload/host-key.ts'),
      ]);
      const server = new SftpServer({
        ...upload.sftp,
        ...common,
        hostKey: await hostKey(upload.sftp.hostKeyFile, dataDir),
        finished: (account, file, remote, synced) => this.#finished(account, file, remote, 'sftp', synced),
        log: log.child({ listener: 'sftp' }),
      });
      this.#sftp = await listening(this.#config, 'upload.sftp', () =>
        this.#deps.parts.start('upload-sftp', server, (s) => s.start()),
      );
    }
    if (upload.ftps.enabled) {
      const [{ FtpsServer }, { generatedCertificate }] = await Promise.all([
        import('../upload/ftps-server.ts'),
        import('../upload/ftps-certificate.ts'),
      ]);
      const files = upload.ftps.tls ?? (await generatedCertificate(dataDir, upload.ftps.passiveHost));
      const server = await listening(this.#config, 'upload.ftps', async () => {
        const ftps = new FtpsServer({
          ...upload.ftps,
          ...common,
          tls: serverTlsOptions(files),
          finished: (account, file, remote) => this.#finished(account, file, remote, 'ftps'),
          log: log.child({ listener: 'ftps' }),
        });
        return this.#deps.parts.start('upload-ftps', ftps, (s) => s.start());
      });
      this.#ftps = server;
    }
  }

  /** The /health entry. */
  health(): Record<string, string | number | boolean> {
    const { sftp, ftps } = this.#config.upload;
    return {
      ok: (!sftp.enabled || this.#sftp !== undefined) && (!ftps.enabled || this.#ftps !== undefined),
      sftpPort: this.#sftp?.port ?? 0,
      ftpsPort: this.#ftps?.port ?? 0,
    };
  }

  /**
   * A DICOM file (or ZIP) a file-drop source claimed, through the same processor as an upload, recorded in the
   * upload log under `channel:<id>`. The ingest moves what it stores, so it gets a synced copy in the work folder
   * (on the study store's file system) and the original stays for the source to move to done/ or error/.
   */
  async dropped(file: DroppedImages): Promise<ImagesOutcome> {
    const copy = path.join(this.#config.dicom.storageDir, '.upload', `${randomUUID()}.drop`);
    await mkdir(path.dirname(copy), { recursive: true });
    try {
      await copyFile(file.path, copy);
      const handle = await open(copy, 'r+');
      await handle.sync().finally(() => handle.close());
      const result = await this.processor.process({
        filePath: copy,
        fileName: file.name,
        user: `channel:${file.channelId}`,
        facility: file.facility,
        protocol: 'file-drop',
        remote: file.from,
        callerKeepsRefused: true,
      });
      return { ok: result.ok, message: result.message };
    } finally {
      await unlink(copy).catch(() => undefined);
    }
  }

  async #jailFor(account: UploadAccount): Promise<Jail> {
    const root = path.join(this.#config.upload.dir, account.user);
    await mkdir(root, { recursive: true, mode: 0o700 });
    return new Jail(root);
  }

  async #finished(
    account: UploadAccount,
    file: JailedPath,
    remote: string,
    protocol: string,
    synced?: Promise<void>,
  ): Promise<Verdict> {
    try {
      const result = await this.processor.process({
        ...(synced === undefined ? {} : { synced }),
        filePath: file.real,
        fileName: file.virtual,
        user: account.user,
        facility: account.facility,
        protocol,
        remote,
      });
      return { ok: result.ok, message: result.message };
    } catch (error) {
      this.#deps.log.error('upload not processed', { user: account.user, protocol, error: errorText(error) });
      return { ok: false, message: 'the hub could not process the file; nothing was kept, send it again' };
    }
  }
}

export async function openUpload(config: HubConfig, deps: UploadDeps): Promise<UploadPart> {
  const uploads = new UploadLog(deps.db);
  await uploads.open();
  const workDir = path.join(config.dicom.storageDir, '.upload');
  // What a crash left here was never acknowledged to its sender, who sends it again.
  await rm(workDir, { recursive: true, force: true });
  await mkdir(config.upload.dir, { recursive: true, mode: 0o700 });
  const processor = new UploadProcessor({
    storeInstance: storeInstanceWith(deps.dicom.ingest),
    facility: (code) => deps.exams.facilities.get(code),
    record: (entry) => uploads.record(entry),
    workDir,
    errorDir: path.join(config.upload.dir, '.errors'),
    zip: config.upload.zip,
    log: deps.log.child({ part: 'upload' }),
  });
  return new UploadPart(config, deps, uploads, processor);
}

/**
 * An uploaded or dropped Part-10 file through the same checks and ingest as STOW-RS (dicom/stow-rs.ts). The check
 * only reads the file, so it runs while the file's fsync does; the ingest, which moves it into the study store and
 * records it, starts once the data is on disk.
 */
export function storeInstanceWith(ingest: Pick<StudyIngest, 'ingest'>): StoreInstance {
  return async (file, what, facility, origin, synced = Promise.resolve()) => {
    try {
      const instance = await describePart10File(file, what);
      await synced;
      await ingest.ingest(instance, { facility, ...origin });
      return { status: 'stored', studyInstanceUid: instance.studyInstanceUid };
    } catch (error) {
      if (error instanceof InstanceRefusal) return { status: 'refused', reason: error.message };
      return { status: 'refused', reason: `${what}: cannot record the instance: ${errorText(error)}` };
    }
  };
}
