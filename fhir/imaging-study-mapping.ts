// ImagingStudy (R4 imagingstudy.html) built from the study index: what arrived, in which series, for which
// order. The id is the Study Instance UID itself (a UID is digits and dots, at most 64: a valid FHIR id), so a
// DICOM client and a FHIR client name the study the same way. ImagingStudy.subject is required, so only
// studies already matched to an exam are resources.
import type { ImagingStudy, ImagingStudySeries } from '@medplum/fhirtypes';
import { dicomUidSystem } from '../exams/identifier-systems.ts';
import type { InstanceRecord, StudyRecord } from '../exams/study-records.ts';
import { dicomSystem, identifierTypeSystem } from './systems.ts';

export { dicomUidSystem };
/** How the hub matched the study to its exam (exam-number, accession, patient, study-uid, new-exam). */
export const studyMatchExtension = 'urn:rso-hub:fhir:StructureDefinition:study-match';
/** SOP class codes are URIs (R4 ImagingStudy.series.instance.sopClass: DICOM UIDs as urn:oid). */
const uriSystem = 'urn:ietf:rfc:3986';

export function toImagingStudy(
  study: StudyRecord,
  patientId: string,
  instances: readonly InstanceRecord[],
): ImagingStudy {
  const resource: ImagingStudy = {
    resourceType: 'ImagingStudy',
    id: study._id,
    meta: { lastUpdated: study.lastReceivedAt },
    identifier: [{ system: dicomUidSystem, value: `urn:oid:${study._id}` }],
    // R4 imagingstudy-status: available once every instance arrived (the quiet time passed), registered before.
    status: study.complete ? 'available' : 'registered',
    subject: { reference: `Patient/${patientId}` },
    numberOfSeries: study.seriesUids.length,
    numberOfInstances: instances.length,
    series: seriesOf(instances),
  };
  if (study.accessionNumber)
    resource.identifier!.push({
      type: { coding: [{ system: identifierTypeSystem, code: 'ACSN' }] },
      value: study.accessionNumber,
    });
  if (study.matchedBy) resource.extension = [{ url: studyMatchExtension, valueCode: study.matchedBy }];
  if (study.examNumber) resource.basedOn = [{ reference: `ServiceRequest/${study.examNumber}` }];
  const modalities = modalitiesOf(study, instances);
  if (modalities.length > 0) resource.modality = modalities.map((code) => ({ system: dicomSystem, code }));
  // Only the date: a time without the sender's UTC offset (0008,0201) would be a guess, and FHIR requires one.
  if (study.studyDate) resource.started = study.studyDate;
  if (study.studyDescription) resource.description = study.studyDescription;
  return resource;
}

/**
 * The study index keeps no `modalities` when no instance named one: Modality (0008,0060) is type 1 in most IODs
 * but absent from real secondary-capture files. Then ImagingStudy.modality (0..*) is omitted.
 */
function modalitiesOf(study: StudyRecord, instances: readonly InstanceRecord[]): string[] {
  const codes = new Set<string>((study.modalities as string[] | undefined) ?? []);
  for (const instance of instances) if (instance.modality) codes.add(instance.modality);
  return [...codes];
}

function seriesOf(instances: readonly InstanceRecord[]): ImagingStudySeries[] {
  const series = new Map<string, ImagingStudySeries>();
  for (const instance of instances) {
    let entry = series.get(instance.seriesInstanceUid);
    if (!entry) {
      // series.modality is required (1..1): what an instance of the series says, else OT ("other", PS3.3
      // C.7.3.1.1.1).
      const uid = instance.seriesInstanceUid;
      const modality = instance.modality ?? instances.find((i) => i.seriesInstanceUid === uid && i.modality)?.modality;
      entry = { uid, modality: { system: dicomSystem, code: modality ?? 'OT' }, numberOfInstances: 0, instance: [] };
      if (instance.seriesNumber !== undefined) entry.number = instance.seriesNumber;
      if (instance.seriesDescription) entry.description = instance.seriesDescription;
      series.set(instance.seriesInstanceUid, entry);
    }
    entry.numberOfInstances = (entry.numberOfInstances ?? 0) + 1;
    entry.instance!.push({
      uid: instance._id,
      sopClass: { system: uriSystem, code: `urn:oid:${instance.sopClassUid}` },
      ...(instance.instanceNumber === undefined ? {} : { number: instance.instanceNumber }),
    });
  }
  return [...series.values()];
}
