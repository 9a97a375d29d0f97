// The 'file' destination: writes each message's content to a file in a directory. The file is written under
// a temporary name and renamed into place, so a program watching the directory never reads half a message
// (rename within one file system is atomic, POSIX rename(2)).
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { errorText } from '../runtime/log.ts';
import { syncDirectory } from '../runtime/sync-directory.ts';
import { ValidationError, expectKeys, expectObject, expectString, join, optionalString } from '../runtime/validate.ts';
import type { DestinationConnector, DestinationConnectorType, OutboundMessage, SendResult } from './connector.ts';

export interface FileDestinationSettings {
  /** Absolute, or relative to the hub's working directory. */
  directory: string;
  /** Tokens: {messageId}, {channelId}, {destination}. Default '{messageId}.txt'. */
  fileName: string;
  /** fsync the file and the directory before reporting it sent (slower, survives power loss). Default true. */
  sync: boolean;
}

const tokens = /\{(messageId|channelId|destination)\}/g;

function parseSettings(input: unknown, settingsPath: string): FileDestinationSettings {
  const value = expectObject(input, settingsPath);
  expectKeys(value, settingsPath, ['directory', 'fileName', 'sync']);
  const directory = expectString(value['directory'], join(settingsPath, 'directory'));
  const fileName = optionalString(value['fileName'], join(settingsPath, 'fileName')) ?? '{messageId}.txt';
  if (fileName.includes('/') || fileName.includes('\\'))
    throw new ValidationError(join(settingsPath, 'fileName'), 'expected a file name, not a path');
  const sync = value['sync'] === undefined ? true : value['sync'];
  if (typeof sync !== 'boolean') throw new ValidationError(join(settingsPath, 'sync'), 'expected true or false');
  return { directory, fileName, sync };
}

export function fileNameFor(pattern: string, message: OutboundMessage): string {
  const values = { messageId: message.messageId, channelId: message.channelId, destination: message.destinationName };
  // A destination name comes from a definition; keep the result a single path segment whatever it holds.
  return pattern.replace(tokens, (_, token: keyof typeof values) => values[token].replace(/[/\\]/g, '_'));
}

async function writeAtomically(directory: string, name: string, content: string, sync: boolean): Promise<void> {
  await mkdir(directory, { recursive: true });
  const temporary = path.join(directory, `.${name}.${randomUUID()}.tmp`);
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(content, 'utf8');
      if (sync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path.join(directory, name));
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  if (sync) await syncDirectory(directory);
}

function create(settings: FileDestinationSettings): DestinationConnector {
  return {
    async send(message: OutboundMessage): Promise<SendResult> {
      const name = fileNameFor(settings.fileName, message);
      try {
        await writeAtomically(settings.directory, name, message.content, settings.sync);
        return { status: 'sent', response: name };
      } catch (error) {
        // A full disk or a missing mount is usually fixed by an operator, so it is worth retrying.
        return { status: 'retry', error: `could not write ${name}: ${errorText(error)}` };
      }
    },
    stop: async () => {},
  };
}

export const fileDestination: DestinationConnectorType<FileDestinationSettings> = {
  type: 'file',
  parseSettings,
  create,
};
