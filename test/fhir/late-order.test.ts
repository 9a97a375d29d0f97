import type { Bundle, ServiceRequest } from '@medplum/fhirtypes';
import test from 'ava';
import type { ExamService } from '../../exams/service.ts';
import { fixture, startFhirServer, type FhirServer } from './server.ts';

const dicom = { actor: 'dicom-scp', via: 'dicom' } as const;

/**
 * What dicom/study-matching.ts makes of images that match no order: an exam for the patient in the tags, whose
 * PatientID (VG-000123, Jane Doe's MRN at Valley General) is recorded under the facility's code.
 */
async function examFromImages(exams: ExamService, accession?: string) {
  const patient = {
    identifiers: [{ system: 'VALLEYGEN', value: 'VG-000123', facility: 'VALLEYGEN' }],
    name: { family: 'DOE', given: ['JANE'] },
  };
  const identifiers = accession ? [{ kind: 'accession' as const, value: accession }] : [];
  const exam = await exams.createOrder(
    { facility: 'VALLEYGEN', patient, identifiers, procedure: { code: 'CT' }, modality: 'CT', origin: 'images' },
    dicom,
  );
  return exams.attachStudy(
    exam.examNumber,
    { studyInstanceUid: '1.2.3.4242', modality: 'CT', ...(accession ? { accessionNumber: accession } : {}) },
    dicom,
  );
}

/** Jane Doe as the EHR knows her: her MRN under the EHR's own system, issued (assigner) by Valley General. */
async function createJane(fhir: FhirServer): Promise<string> {
  const created = await fhir.request('POST', '/Patient', { body: await fixture('patient-jane-doe.json') });
  const { id } = created.body;
  if (created.status !== 201 || id === undefined) throw new Error(JSON.stringify(created.body));
  return id;
}

async function order(patientId: string, accession?: string): Promise<ServiceRequest> {
  const resource = await fixture<ServiceRequest>('service-request-ct-head.json');
  resource.subject.reference = `Patient/${patientId}`;
  resource.occurrenceDateTime = new Date().toISOString();
  if (accession) {
    resource.identifier = [
      ...(resource.identifier ?? []),
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] },
        value: accession,
      },
    ];
  }
  return resource;
}

test('a ServiceRequest with the accession of an exam its images made becomes that exam, as an ORM would', async (t) => {
  const fhir = await startFhirServer(t);
  const fromImages = await examFromImages(fhir.exams, 'ACC-4242');
  const jane = await createJane(fhir);
  const created = await fhir.request('POST', '/ServiceRequest', { body: await order(jane, 'ACC-4242') });
  t.is(created.status, 201, JSON.stringify(created.body));
  t.is(created.body.id, fromImages.examNumber);
  const exam = await fhir.exams.require(fromImages.examNumber);
  t.is(exam.awaitingOrder, undefined);
  t.is(exam.patientId, jane, 'the exam is the ordering patient record now');
  t.is(exam.procedure.code, '24725-4');
});

test('a ServiceRequest without an accession merges into the exam from images of the same MRN, same modality, same day', async (t) => {
  const fhir = await startFhirServer(t);
  const fromImages = await examFromImages(fhir.exams);
  const jane = await createJane(fhir);
  const created = await fhir.request('POST', '/ServiceRequest', { body: await order(jane) });
  t.is(created.status, 201, JSON.stringify(created.body));
  t.is(created.body.id, fromImages.examNumber);
  t.is((await fhir.exams.require(fromImages.examNumber)).awaitingOrder, undefined);
});

test('in a transaction, a ServiceRequest with the accession of an exam from images is merged, not refused', async (t) => {
  const fhir = await startFhirServer(t);
  const fromImages = await examFromImages(fhir.exams, 'ACC-4343');
  const jane = await createJane(fhir);
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ resource: await order(jane, 'ACC-4343'), request: { method: 'POST', url: 'ServiceRequest' } }],
  };
  const answer = await fhir.request<Bundle>('POST', '', { body: bundle });
  t.is(answer.status, 200, JSON.stringify(answer.body));
  t.is(answer.body.entry?.[0]?.response?.location?.split('/')[1], fromImages.examNumber);
});
