// What the file-drop source needs from the engine: which entries of a claimed file the message store already holds,
// so a file finished after a restart stores none of its messages twice. Without a store (a registry that only checks
// definitions) a resumed file is read whole again. DICOM files go to the upload part's processor (composition/upload.ts);
// without it they are refused.
import { MessageStore } from '../channels/message-store.ts';
import type { FileDropDeps } from '../files/file-drop-source.ts';
import type { HubDb } from '../store/db.ts';
import type { UploadPart } from './upload.ts';

export function fileDropDeps(db: HubDb | undefined, upload?: Pick<UploadPart, 'dropped'>): FileDropDeps {
  if (db === undefined) return {};
  const messages = new MessageStore(db);
  return {
    ...(upload === undefined ? {} : { storeImages: (file) => upload.dropped(file) }),
    storedEntries: async (channelId, claimId) => {
      const sources = await messages.sources(channelId, { claim: claimId });
      return new Set(sources.map((source) => source['entry']).filter((entry) => entry !== undefined));
    },
  };
}
