import test from 'ava';
import type { DestinationConnector } from '../../../channels/connector.ts';
import { authoritySystem } from '../../../exams/identity-systems.ts';
import type { ExamService } from '../../../exams/service.ts';
import { examDestination, openMappingHub } from './exam-hub.ts';

const dicom = { actor: 'dicom-scp', via: 'dicom' } as const;
let sent = 0;

function send(destination: DestinationConnector, segments: string[]) {
  sent++;
  const content = segments.join('\r');
  return destination.send({
    messageId: `rec-${sent}`,
    channelId: 'orders-test',
    destinationName: 'exams',
    content,
    dataType: 'hl7v2',
    attempt: 1,
  });
}

/** An ORM^O01 (v2.4) for patient V100 at Valley General; OBR-18 is the accession number. */
function orm(control: string, placer: string, accession: string, mrn = 'V100', procedure = '71250^CT CHEST^CPT4') {
  return [
    `MSH|^~\\&|RIS|VALLEYGEN|RSO_HUB|RSO|20260611130000||ORM^O01|ORM-${sent}|P|2.4`,
    `PID|1||${mrn}^^^VALLEYGEN^MR||DOE^JANE||19800101|F`,
    `ORC|${control}|${placer}`,
    `OBR|1|${placer}||${procedure}${'|'.repeat(14)}${accession}${'|'.repeat(6)}CT`,
  ];
}

/** What dicom/study-matching.ts does for images that match no order: an exam of their own for the tags' patient. */
async function examFromImages(exams: ExamService, mrn: string, accession: string, uid: string) {
  // A PatientID without Issuer of Patient ID is the facility's own MRN, under the system its config names.
  const system = authoritySystem(await exams.facilities.require('VALLEYGEN'), undefined);
  const patient = {
    identifiers: [{ system, value: mrn, facility: 'VALLEYGEN' }],
    name: { family: 'DOE', given: ['JANE'] },
  };
  const exam = await exams.createOrder(
    {
      facility: 'VALLEYGEN',
      patient,
      identifiers: [{ kind: 'accession', value: accession }],
      procedure: { code: 'CT' },
      modality: 'CT',
      origin: 'images',
    },
    dicom,
  );
  return exams.attachStudy(
    exam.examNumber,
    { studyInstanceUid: uid, modality: 'CT', accessionNumber: accession },
    dicom,
  );
}

test('an ORM with the accession of the exam its images made takes that exam and ends its wait in the same write', async (t) => {
  const { exams } = await openMappingHub(t);
  const destination = examDestination(exams, {});
  const fromImages = await examFromImages(exams, 'V100', 'ACC-500', '1.2.3.500');
  const result = await send(destination, orm('NW', 'PLC-500', 'ACC-500'));
  t.is(result.status, 'sent', JSON.stringify(result));
  const merged = await exams.require(fromImages.examNumber);
  t.is(merged.procedure.code, '71250');
  t.is(merged.awaitingOrder, undefined, 'no longer waits for an order');
  t.is(merged.lateOrderKey, undefined);
  t.is(merged.version, fromImages.version + 1, 'one write');
  t.true(merged.identifiers.some((id) => id.kind === 'placer' && id.value === 'PLC-500'));
});

test('a second, different order for the same patient after a late order makes its own exam', async (t) => {
  const { exams } = await openMappingHub(t);
  const destination = examDestination(exams, {});
  const fromImages = await examFromImages(exams, 'V101', 'ACC-501', '1.2.3.501');
  t.is((await send(destination, orm('NW', 'PLC-501', 'ACC-501', 'V101'))).status, 'sent');
  t.is((await send(destination, orm('NW', 'PLC-502', '', 'V101', '74176^CT ABDOMEN^CPT4'))).status, 'sent');
  const first = await exams.require(fromImages.examNumber);
  t.is(first.procedure.code, '71250', 'the first order stays on the exam its images made');
  const second = await exams.findByIdentifier('VALLEYGEN', 'placer', 'PLC-502');
  t.truthy(second, 'the second order has an exam');
  t.not(second?.examNumber, fromImages.examNumber);
  t.is(second?.procedure.code, '74176');
});

test('a cancel for an order the hub does not know is refused and leaves no patient behind', async (t) => {
  const { exams } = await openMappingHub(t);
  const destination = examDestination(exams, {});
  const result = await send(destination, orm('CA', 'PLC-UNKNOWN', '', 'V-NEW-1'));
  t.not(result.status, 'sent');
  t.is(
    await exams.patients.findByIdentifier('VALLEYGEN', 'V-NEW-1'),
    undefined,
    'the refused message created no patient',
  );
  t.is((await exams.findPatients({})).total, 0);
});
