// The facility form places the hub's refusals by path: every field the form shows must be named exactly as
// parseFacility (the seed files' validation) names it, or the refusal would land above the form instead of at
// the field. The drafts here go through the real parseFacility.
import test from 'ava';
import { type Draft, withValue, withoutItem } from '../../admin-ui/app/src/screens/facilities/draft.ts';
import { fieldOf, placeIssues } from '../../admin-ui/app/src/screens/facilities/issues.ts';
import { parseFacility } from '../../exams/facility.ts';
import { ValidationError } from '../../runtime/validate.ts';

const good: Draft = {
  code: 'HILLSIDE',
  name: 'Hillside Imaging',
  aeTitles: ['HILL_CT'],
  sendingFacilities: ['HILLSIDE'],
  technicians: [{ id: 't1', name: 'Tess', phone: '+15555550101', notify: ['sms'] }],
  radiologists: [{ id: 'r1', name: 'Dr. Rao', email: 'rao@rso.example' }],
  radiologistPacs: { aeTitle: 'RSO_PACS', host: '127.0.0.1', port: 4242 },
  moveDestinations: [{ aeTitle: 'HILL_PACS', host: '127.0.0.1', port: 11113 }],
  reportDestinations: { ehrMllp: { host: '127.0.0.1', port: 6663 }, fax: '+15555550199' },
  billingRules: [{ modality: 'CT', amount: 60, currency: 'USD' }],
  active: true,
};

/** The path parseFacility names for the draft, as the API would answer it. */
function refusedAt(draft: unknown): string {
  try {
    parseFacility(draft);
  } catch (error) {
    if (error instanceof ValidationError) return error.path;
    throw error;
  }
  throw new Error('parseFacility accepted it');
}

const formFields: Array<[string, Array<string | number>, unknown, string]> = [
  ['a bad code', ['code'], 'HILL SIDE', 'code'],
  ['a missing name', ['name'], undefined, 'name'],
  ['a 17-character AE title', ['aeTitles', 0], 'HILLSIDE_IMAGING1', 'aeTitles[0]'],
  ['an MSH-4 code that is not text', ['sendingFacilities', 0], 7, 'sendingFacilities[0]'],
  ["a PACS's bad AE title", ['radiologistPacs', 'aeTitle'], 'A\\B', 'radiologistPacs.aeTitle'],
  ["a PACS's missing host", ['radiologistPacs', 'host'], undefined, 'radiologistPacs.host'],
  ["an EHR's port out of range", ['reportDestinations', 'ehrMllp', 'port'], 70000, 'reportDestinations.ehrMllp.port'],
  ['a report fax that is not E.164', ['reportDestinations', 'fax'], '555-0199', 'reportDestinations.fax'],
  [
    'a FHIR base that is not a URL',
    ['reportDestinations', 'ehrFhirBaseUrl'],
    'ehr',
    'reportDestinations.ehrFhirBaseUrl',
  ],
  ["a technician's bad phone", ['technicians', 0, 'phone'], '555', 'technicians[0].phone'],
  ['SMS for a technician without a phone', ['technicians', 0, 'phone'], undefined, 'technicians[0].notify'],
  ["a radiologist's bad e-mail", ['radiologists', 0, 'email'], 'rao', 'radiologists[0].email'],
  ['a negative amount', ['billingRules', 0, 'amount'], -1, 'billingRules[0].amount'],
  ['a currency that is not ISO 4217', ['billingRules', 0, 'currency'], 'dollars', 'billingRules[0].currency'],
];

for (const [what, path, value, field] of formFields) {
  test(`${what} is refused at the form's field ${field}`, (t) => {
    const issue = { path: refusedAt(withValue(good, path, value)), text: 'refused' };
    t.is(fieldOf(issue), field);
    t.is(placeIssues([issue]).first, field);
    t.deepEqual(placeIssues([issue]).elsewhere, []);
  });
}

test('an issue at a key the form does not show is listed apart, for the JSON view', (t) => {
  const path = refusedAt(withValue(good, ['moveDestinations', 0, 'port'], 70000));
  const placed = placeIssues([{ path, text: `${path}: expected a port number from 0 to 65535` }]);
  t.is(placed.first, undefined);
  t.deepEqual(placed.elsewhere, [
    { path: 'moveDestinations[0].port', text: `${path}: expected a port number from 0 to 65535` },
  ]);
});

test('the reason is shown at the field without the path the hub puts in front', (t) => {
  const placed = placeIssues([{ path: 'aeTitles[0]', text: 'aeTitles[0]: expected an AE title' }]);
  t.is(placed.at('aeTitles[0]'), 'expected an AE title');
  t.is(placed.at('name'), undefined);
});

test('clearing the last field of an optional endpoint removes the endpoint, as a hand-written file would', (t) => {
  let draft = withValue(good, ['radiologistPacs', 'aeTitle'], undefined);
  draft = withValue(draft, ['radiologistPacs', 'host'], undefined);
  t.deepEqual((draft as Draft)['radiologistPacs'], { port: 4242 });
  draft = withValue(draft, ['radiologistPacs', 'port'], undefined);
  t.false('radiologistPacs' in (draft as Draft));
  t.notThrows(() => parseFacility(draft), 'a facility without a PACS is valid');
  t.deepEqual(
    good['radiologistPacs'] as object,
    { aeTitle: 'RSO_PACS', host: '127.0.0.1', port: 4242 },
    'the original is untouched',
  );
});

test('removing an entry shifts the ones after it, and keys the form does not show stay', (t) => {
  const draft = withoutItem(withValue(good, ['aeTitles', 1], 'HILL_MR'), ['aeTitles'], 0) as Draft;
  t.deepEqual(draft['aeTitles'], ['HILL_MR']);
  t.deepEqual(draft['moveDestinations'], good['moveDestinations']);
  t.deepEqual(parseFacility(draft).aeTitles, ['HILL_MR']);
});
