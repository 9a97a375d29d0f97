// `reports.viewerUrl` and `reports.templates` in hub.yaml: a viewer address must be http(s) and name where the
// Study Instance UID goes; templates are listed per DICOM modality (or * for all), each with a name.
import test from 'ava';
import { parseConfig } from '../../config/load.ts';
import { ValidationError } from '../../runtime/validate.ts';

const parse = (reports: Record<string, unknown>) => parseConfig({ reports }, 'hub.yaml', '/tmp').reports;

test('a viewer URL template and templates per modality are read', (t) => {
  const reports = parse({
    viewerUrl: 'https://ohif.example/viewer?StudyInstanceUIDs={StudyInstanceUID}',
    templates: {
      CT: [{ name: 'Normal head', findings: 'No bleed.', impression: 'Normal.' }],
      '*': [{ name: 'Blank' }],
    },
  });
  t.is(reports.viewerUrl, 'https://ohif.example/viewer?StudyInstanceUIDs={StudyInstanceUID}');
  t.deepEqual(reports.templates['CT'], [{ name: 'Normal head', findings: 'No bleed.', impression: 'Normal.' }]);
  t.deepEqual(parse({}).templates, {}, 'none by default');
  t.deepEqual(parse({ templates: { '*': [{ name: 'Blank', impression: '' }] } }).templates['*'], [
    { name: 'Blank', impression: '' },
  ]);
});

test('a viewer URL without the UID placeholder, an odd modality or an unnamed template is refused at its path', (t) => {
  const refused = (reports: Record<string, unknown>) =>
    t.throws(() => parse(reports), { instanceOf: ValidationError })?.message;
  t.regex(refused({ viewerUrl: 'https://viewer.example/' }) ?? '', /reports\.viewerUrl: .*\{StudyInstanceUID\}/);
  t.regex(refused({ viewerUrl: 'javascript:alert(1)//{StudyInstanceUID}' }) ?? '', /reports\.viewerUrl/);
  t.regex(refused({ templates: { 'head ct': [] } }) ?? '', /reports\.templates\.head ct/);
  t.regex(refused({ templates: { CT: [{ findings: 'x' }] } }) ?? '', /reports\.templates\.CT\[0\]\.name/);
  t.regex(refused({ templates: { CT: [{ name: 'x', footer: 'y' }] } }) ?? '', /footer/);
});
