// The 'sftp-file' destination: Mirth's File Writer onto an SFTP server. Each message is written under a dot name,
// flushed with the fsync@openssh.com extension when the server offers it, and renamed into place
// (posix-rename@openssh.com replaces an existing file atomically; plain SSH_FXP_RENAME refuses to), so a reader on
// the server never sees half a file; it counts as sent only once the server has confirmed the rename. One
// connection is kept and opened again after any failure, which is retried.
import { randomUUID } from 'node:crypto';
import path from 'node:path/posix';
import type {
  DestinationConnector,
  DestinationConnectorType,
  OutboundMessage,
  SendResult,
} from '../channels/connector.ts';
import { fileNameFor } from '../channels/file-destination.ts';
import { errorText } from '../runtime/log.ts';
import { ValidationError, expectKeys, expectObject, join, optionalString } from '../runtime/validate.ts';
import {
  openSftp,
  parseSftpRemote,
  sftpCall,
  sftpRemoteKeys,
  type SftpLink,
  type SftpRemoteSettings,
} from './sftp-remote.ts';

export interface SftpDestinationSettings extends SftpRemoteSettings {
  /** Tokens: {messageId}, {channelId}, {destination}. Default '{messageId}.txt'. */
  fileName: string;
}

function parseSettings(input: unknown, at: string): SftpDestinationSettings {
  const value = expectObject(input, at);
  expectKeys(value, at, [...sftpRemoteKeys, 'fileName']);
  const { fileName: given, ...remote } = value;
  const fileName = optionalString(given, join(at, 'fileName')) ?? '{messageId}.txt';
  if (fileName.includes('/') || fileName.includes('\\'))
    throw new ValidationError(join(at, 'fileName'), 'expected a file name, not a path');
  return { ...parseSftpRemote(remote, at), fileName };
}

class SftpDestination implements DestinationConnector {
  readonly #settings: SftpDestinationSettings;
  #link: Promise<SftpLink> | undefined;

  constructor(settings: SftpDestinationSettings) {
    this.#settings = settings;
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    const name = fileNameFor(this.#settings.fileName, message);
    try {
      this.#link ??= openSftp(this.#settings);
      const { sftp } = await this.#link;
      await writeAndRename(sftp, this.#settings.directory, name, Buffer.from(message.content, 'utf8'));
      return { status: 'sent', response: path.join(this.#settings.directory, name) };
    } catch (error) {
      this.#drop();
      // A server that is down, full or refusing the login is usually fixed by an operator: worth retrying.
      return { status: 'retry', error: `could not write ${name} over SFTP: ${errorText(error)}` };
    }
  }

  #drop(): void {
    const link = this.#link;
    this.#link = undefined;
    link?.then((l) => l.close()).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.#drop();
  }
}

async function writeAndRename(sftp: SftpLink['sftp'], directory: string, name: string, content: Buffer): Promise<void> {
  const target = path.join(directory, name);
  const temporary = path.join(directory, `.${name}.${randomUUID()}.tmp`);
  const handle = await sftpCall<Buffer>((done) => sftp.open(temporary, 'w', done));
  try {
    for (let offset = 0; offset < content.length; ) {
      const length = Math.min(32 * 1024, content.length - offset);
      await sftpCall((done) => sftp.write(handle, content, offset, length, offset, done));
      offset += length;
    }
    if (offersExtension(sftp, 'fsync@openssh.com')) await sftpCall((done) => sftp.ext_openssh_fsync(handle, done));
  } catch (error) {
    await sftpCall((done) => sftp.close(handle, done)).catch(() => undefined);
    await sftpCall((done) => sftp.unlink(temporary, done)).catch(() => undefined);
    throw error;
  }
  await sftpCall((done) => sftp.close(handle, done));
  try {
    if (offersExtension(sftp, 'posix-rename@openssh.com'))
      await sftpCall((done) => sftp.ext_openssh_rename(temporary, target, done));
    else await sftpCall((done) => sftp.rename(temporary, target, done));
  } catch (error) {
    await sftpCall((done) => sftp.unlink(temporary, done)).catch(() => undefined);
    throw error;
  }
}

/** The extensions the server announced in its SSH_FXP_VERSION (draft-ietf-secsh-filexfer-02 4). */
function offersExtension(sftp: SftpLink['sftp'], name: string): boolean {
  const announced = (sftp as unknown as { _extensions?: Record<string, string> })._extensions;
  return announced?.[name] !== undefined;
}

export const sftpFileDestination: DestinationConnectorType<SftpDestinationSettings> = {
  type: 'sftp-file',
  parseSettings,
  create: (settings) => new SftpDestination(settings),
};
