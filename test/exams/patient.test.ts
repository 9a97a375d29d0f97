import test from 'ava';
import { MergedPatientError } from '../../exams/errors.ts';
import { hl7Source, openTestHub } from './setup.ts';

const adt = { actor: 'channel:valley-adt', via: 'hl7' };

test('recording a patient by identifier creates once, then updates and adds identifiers', async (t) => {
  const { exams } = await openTestHub(t);
  const first = await exams.recordPatient(
    {
      identifiers: [{ system: 'VALLEYGEN', value: 'MRN-1', facility: 'VALLEYGEN' }],
      name: { family: 'Doe', given: ['Jane'] },
    },
    adt,
  );
  t.true(first.created);
  const second = await exams.recordPatient(
    {
      identifiers: [
        { system: 'VALLEYGEN', value: 'MRN-1' },
        { system: 'urn:oid:2.16.840.1.113883.4.1', value: '123-45-6789' },
      ],
      name: { family: 'Doe-Smith', given: ['Jane'] },
      birthDate: '1970-04-01',
    },
    adt,
  );
  t.false(second.created);
  t.is(second.patient._id, first.patient._id);
  t.is(second.patient.identifiers.length, 2);
  t.is(second.patient.name.family, 'Doe-Smith');
  t.is(second.patient.version, 2);
  t.deepEqual(second.patient.history.at(-1)?.by, adt);
  const same = await exams.recordPatient({ identifiers: [{ system: 'VALLEYGEN', value: 'MRN-1' }] }, adt);
  t.is(same.patient.version, 2, 'nothing new: no write');
  await t.throwsAsync(
    exams.recordPatient({ identifiers: [{ system: 'VALLEYGEN', value: 'MRN-2' }], birthDate: '04/01/1970' }, adt),
    { message: /patient.birthDate: expected YYYY-MM-DD/ },
  );
});

test('the same new patient recorded twice at once becomes one patient', async (t) => {
  const { exams } = await openTestHub(t);
  const input = { identifiers: [{ system: 'VALLEYGEN', value: 'MRN-RACE' }], name: { family: 'Race', given: ['Ray'] } };
  const results = await Promise.all([
    exams.recordPatient(input, adt),
    exams.recordPatient(input, adt),
    exams.recordPatient(input, adt),
  ]);
  t.is(new Set(results.map((r) => r.patient._id)).size, 1);
  t.is(results.filter((r) => r.created).length, 1);
  t.is((await exams.findPatients({ identifier: { value: 'MRN-RACE' } })).total, 1);
});

test('merging A into B marks A with a link to B and moves all of its exams, closed ones too', async (t) => {
  const { exams } = await openTestHub(t);
  const a = (
    await exams.recordPatient(
      { identifiers: [{ system: 'VALLEYGEN', value: 'MRN-A' }], name: { family: 'Doe', given: ['J'] } },
      adt,
    )
  ).patient;
  const b = (
    await exams.recordPatient(
      { identifiers: [{ system: 'VALLEYGEN', value: 'MRN-B' }], name: { family: 'Doe', given: ['Jane'] } },
      adt,
    )
  ).patient;
  const order = (placer: string, patientId: string) =>
    exams.createOrder(
      {
        facility: 'VALLEYGEN',
        patient: { id: patientId },
        identifiers: [{ kind: 'placer', value: placer }],
        procedure: { code: 'CTHEAD' },
      },
      hl7Source,
    );
  const open = await order('M1', a._id);
  const closed = await order('M2', a._id);
  await exams.cancel(closed.examNumber, adt);
  const kept = await order('M3', b._id);

  const result = await exams.mergePatients(a._id, b._id, adt);
  t.deepEqual(result.movedExams.sort(), [open.examNumber, closed.examNumber].sort());
  t.is(result.from.mergedInto, b._id);
  t.deepEqual(result.into.replaces, [a._id]);
  const ofB = await exams.findExams({ patientIds: [b._id] });
  t.deepEqual(ofB.items.map((e) => e.examNumber).sort(), [open.examNumber, closed.examNumber, kept.examNumber].sort());
  t.is((await exams.require(closed.examNumber)).status, 'cancelled', 'moving does not reopen');
  t.is((await exams.findExams({ patientIds: [a._id] })).total, 0);

  // An order for the old MRN lands on the survivor; a merged patient cannot be merged again.
  const late = await exams.createOrder(
    {
      facility: 'VALLEYGEN',
      patient: { identifiers: [{ system: 'VALLEYGEN', value: 'MRN-A' }] },
      procedure: { code: 'CTHEAD' },
    },
    hl7Source,
  );
  t.is(late.patientId, b._id);
  await t.throwsAsync(
    exams.mergePatients(
      a._id,
      (await exams.recordPatient({ identifiers: [{ system: 'X', value: '1' }] }, adt)).patient._id,
      adt,
    ),
    {
      instanceOf: MergedPatientError,
    },
  );
  const again = await exams.mergePatients(a._id, b._id, adt);
  t.deepEqual(again.movedExams, [], 'a repeated merge finds nothing left to move');
  await exams.outbox.publishPending();
  const events = await exams.outbox.subscription('t').pull(100);
  t.true(events.some((e) => e.type === 'patient.merged' && e.patientId === a._id && e.data['into'] === b._id));
  t.is(events.filter((e) => e.type === 'exam.patient-changed').length, 2);
});

test('facilities load from config and are found by AE title and MSH-4', async (t) => {
  const { exams } = await openTestHub(t);
  t.is((await exams.facilities.findByAeTitle('VALLEY_CT'))?.name, 'Valley General');
  t.is((await exams.facilities.findBySendingFacility('VALLEYGEN'))?.radiologistPacs?.aeTitle, 'RSO_PACS');
  t.is(await exams.facilities.findByAeTitle('UNKNOWN_AE'), undefined);
  await t.throwsAsync(exams.facilities.save({ code: 'BAD', name: 'Bad', aeTitles: ['THIS_AE_TITLE_IS_TOO_LONG'] }), {
    message: /aeTitles\[0\]: expected an AE title/,
  });
  await t.throwsAsync(
    exams.facilities.save({ code: 'BAD', name: 'Bad', radiologistPacs: { aeTitle: 'X', host: 'h', port: 'x' } }),
    { message: /radiologistPacs.port: expected a port/ },
  );
  t.is((await exams.facilities.findByAeTitle('VALLEY_CT'))?.moveDestinations?.[0]?.aeTitle, 'VALLEY_PACS');
  await t.throwsAsync(
    exams.facilities.save({
      code: 'BAD',
      name: 'Bad',
      moveDestinations: [
        { aeTitle: 'WS1', host: 'h', port: 104 },
        { aeTitle: 'BACK\\SLASH', host: 'h', port: 104 },
      ],
    }),
    { message: /moveDestinations\[1\]\.aeTitle: expected an AE title/ },
  );
});

test('an AE title given to another facility, or a facility made inactive, is what the next lookup sees, at once', async (t) => {
  const { exams } = await openTestHub(t);
  const valley = await exams.facilities.require('VALLEYGEN');
  t.is((await exams.facilities.findByAeTitle('VALLEY_CT'))?.code, 'VALLEYGEN');
  t.is((await exams.facilities.findByAeTitle('VALLEY_CT'))?.code, 'VALLEYGEN', 'from the cache');
  await exams.facilities.save({ ...valley, aeTitles: valley.aeTitles.filter((ae) => ae !== 'VALLEY_CT') });
  await exams.facilities.save({ code: 'HILLSIDE', name: 'Hillside Imaging', aeTitles: ['VALLEY_CT'] });
  t.is((await exams.facilities.findByAeTitle('VALLEY_CT'))?.code, 'HILLSIDE');
  const hillside = await exams.facilities.require('HILLSIDE');
  await exams.facilities.save({ ...hillside, active: false });
  t.is(await exams.facilities.findByAeTitle('VALLEY_CT'), undefined);
});

test('a facility saved again is what the next order sees, at once', async (t) => {
  const { exams } = await openTestHub(t);
  const order = () =>
    exams.createOrder(
      {
        facility: 'VALLEYGEN',
        patient: { identifiers: [{ system: 'VALLEYGEN', value: 'MRN-F' }] },
        procedure: { code: 'CTHEAD' },
      },
      hl7Source,
    );
  await order();
  const facility = await exams.facilities.require('VALLEYGEN');
  await exams.facilities.save({ ...facility, active: false });
  await t.throwsAsync(order(), { message: /facility "VALLEYGEN" is not active/ });
  await exams.facilities.save({ ...facility, active: true });
  await t.notThrowsAsync(order());
});
