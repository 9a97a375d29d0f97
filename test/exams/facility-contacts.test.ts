// A facility's contact details for report delivery and technician dispatch are checked when it is saved: a fax or
// phone number that is not E.164, an e-mail address that is not one, a way of notice without its address and a
// dispatch template naming a variable a notice does not have are refused with their path, and nothing is stored.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { InvalidInputError } from '../../exams/errors.ts';
import { facilitiesDir, openTestHub } from './setup.ts';

async function valley(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path.join(facilitiesDir, 'valley-general.json'), 'utf8'));
}

const cases: Array<[string, (f: Record<string, unknown>) => void, string, RegExp]> = [
  [
    'a report fax number that is not E.164',
    (f) => Object.assign(f['reportDestinations'] as object, { fax: '555-0199' }),
    'reportDestinations.fax',
    /E\.164/,
  ],
  [
    'a report e-mail address that is not one',
    (f) => Object.assign(f['reportDestinations'] as object, { email: 'reports@valley' }),
    'reportDestinations.email',
    /e-mail address/,
  ],
  [
    "a technician's phone that is not E.164",
    (f) => Object.assign((f['technicians'] as object[])[0]!, { phone: '(555) 555-0101' }),
    'technicians[0].phone',
    /E\.164/,
  ],
  [
    'notice by fax for a technician without a fax number',
    (f) => Object.assign((f['technicians'] as object[])[0]!, { notify: ['email', 'fax'] }),
    'technicians[0].notify[1]',
    /fax needs the member's fax/,
  ],
  [
    'a dispatch template with an unknown variable',
    (f) => Object.assign(f, { dispatchTemplates: { sms: 'New exam for {{patientName}}' } }),
    'dispatchTemplates.sms',
    /unknown variable 'patientName'/,
  ],
  [
    'a dispatch template with a partial',
    (f) => Object.assign(f, { dispatchTemplates: { email: '{{> header}} {{examNumber}}' } }),
    'dispatchTemplates.email',
    /partials are not supported/,
  ],
];

for (const [what, change, field, reason] of cases) {
  test(`a facility with ${what} is refused with its path`, async (t) => {
    const { exams } = await openTestHub(t);
    const facility = await valley();
    facility['code'] = 'BADCONTACT';
    facility['aeTitles'] = [];
    facility['sendingFacilities'] = [];
    change(facility);
    const error = await t.throwsAsync(exams.facilities.save(facility), { instanceOf: InvalidInputError });
    t.is(error?.field, field);
    t.regex(error?.message ?? '', reason);
    t.is(await exams.facilities.get('BADCONTACT'), undefined, 'nothing stored');
  });
}

test('templates with known variables and E.164 numbers are stored as given', async (t) => {
  const { exams } = await openTestHub(t);
  const facility = await valley();
  facility['code'] = 'GOODCONTACT';
  facility['aeTitles'] = [];
  facility['sendingFacilities'] = [];
  facility['dispatchTemplates'] = { sms: '{{priority}} {{examNumber}} at {{facility}}: {{procedure}}' };
  const saved = await exams.facilities.save(facility);
  t.is(saved.dispatchTemplates?.sms, '{{priority}} {{examNumber}} at {{facility}}: {{procedure}}');
  t.is(saved.reportDestinations.fax, '+15555550199');
  t.deepEqual(saved.technicians[1]?.notify, ['email', 'fax']);
});
