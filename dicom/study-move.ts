// Study Root C-MOVE and C-GET (PS3.4 C.4.2, C.4.3, C.6.2.1): a facility's PACS or a radiologist's workstation (by
// calling AE) pulls studies, series or instances the hub holds for that facility, by C-GET over its own
// association, or by C-MOVE to one of the facility's configured move destinations (facility.moveDestinations: an AE title alone names no address, so only listed ones are reachable,
// and a facility cannot make the hub send to someone else's AE). What belongs to another facility is not found,
// as in C-FIND: it is not there for the caller, so zero sub-operations, not an error that would confirm it exists.
import type { Facility, FacilityRegistry } from '../exams/facility.ts';
import { type Dataset, textOf } from './dataset-codec.ts';
import { ServiceRefusal } from './scp-exchange.ts';
import type { GetRequest, GetService } from './scp-get.ts';
import { type MovePlan, type MoveRequest, type MoveService, moveStatus } from './scp-move.ts';
import type { StudyIndex } from './study-index.ts';

/** A move names at most this many UIDs at its level; more is not a workstation pulling priors. */
const maxUids = 1000;

export function studyMoveService(index: StudyIndex, facilities: FacilityRegistry, aeTitle: string): MoveService {
  return async (request: MoveRequest): Promise<MovePlan> => {
    const facility = await callerFacility(facilities, request.callingAe);
    const target = (facility.moveDestinations ?? []).find((d) => d.aeTitle === request.moveDestination);
    if (!target)
      throw new ServiceRefusal(
        moveStatus.unknownDestination,
        `move destination ${request.moveDestination || '(empty)'} is not one of the facility's`,
      );
    const destination = { ...target, calledAe: target.aeTitle, callingAe: aeTitle };
    return { destination, filePaths: await storedFiles(index, facility.code, request.identifier) };
  };
}

/** Study Root C-GET: the same instances, sent back to the caller over its own association. */
export function studyGetService(index: StudyIndex, facilities: FacilityRegistry): GetService {
  return async (request: GetRequest): Promise<string[]> => {
    const facility = await callerFacility(facilities, request.callingAe);
    return storedFiles(index, facility.code, request.identifier);
  };
}

async function callerFacility(facilities: FacilityRegistry, callingAe: string): Promise<Facility> {
  const facility = await facilities.findByAeTitle(callingAe);
  if (!facility) throw new ServiceRefusal(moveStatus.failed, 'the calling AE belongs to no active facility');
  return facility;
}

async function storedFiles(index: StudyIndex, facility: string, identifier: Dataset): Promise<string[]> {
  const instances = await index.instances
    .find({ ...instanceFilter(identifier), facility } as never)
    .sort({ studyInstanceUid: 1, seriesNumber: 1, instanceNumber: 1, _id: 1 })
    .toArray();
  return instances.map((instance) => instance.filePath);
}

/** The conditions of the identifier's level: STUDY names studies, SERIES series of one study, IMAGE instances. */
function instanceFilter(identifier: Dataset): Record<string, unknown> {
  const level = textOf(identifier, '00080052');
  const studies = uids(identifier, '0020000D');
  if (studies.length === 0) throw refusal('(0020,000D) Study Instance UID is required');
  if (level === 'STUDY') return { studyInstanceUid: { $in: studies } };
  if (level !== 'SERIES' && level !== 'IMAGE')
    throw refusal(`(0008,0052) level ${level ?? 'missing'}: STUDY, SERIES or IMAGE`);
  // PS3.4 C.4.2.2.1: below the study level, the keys above hold a single value.
  if (studies.length > 1) throw refusal('(0020,000D) takes a single UID below the STUDY level');
  const series = uids(identifier, '0020000E');
  if (series.length === 0) throw refusal('(0020,000E) Series Instance UID is required at this level');
  if (level === 'SERIES') return { studyInstanceUid: studies[0], seriesInstanceUid: { $in: series } };
  if (series.length > 1) throw refusal('(0020,000E) takes a single UID at the IMAGE level');
  const sops = uids(identifier, '00080018');
  if (sops.length === 0) throw refusal('(0008,0018) SOP Instance UID is required at the IMAGE level');
  return { studyInstanceUid: studies[0], seriesInstanceUid: series[0], _id: { $in: sops } };
}

function uids(identifier: Dataset, tag: string): string[] {
  const list = (textOf(identifier, tag) ?? '')
    .split('\\')
    .map((uid) => uid.replace(/\0/g, '').trim())
    .filter((uid) => uid !== '');
  if (list.length > maxUids) throw refusal(`(${tag.slice(0, 4)},${tag.slice(4)}) names more than ${maxUids} UIDs`);
  if (list.some((uid) => !/^[0-9.]{1,64}$/.test(uid)))
    throw refusal(`(${tag.slice(0, 4)},${tag.slice(4)}) holds something that is not a UID`);
  return list;
}

function refusal(message: string): ServiceRefusal {
  return new ServiceRefusal(moveStatus.badIdentifier, message);
}
