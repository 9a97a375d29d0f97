import test from 'ava';
import { parseReportDestinations } from '../../exams/report-destinations.ts';

test('an EHR over MLLP takes a version and the PDF choice; a FHIR push names its secrets by variable', (t) => {
  t.deepEqual(
    parseReportDestinations(
      {
        ehrMllp: { host: 'ehr.example', port: 2575, version: '2.3', includePdf: true },
        ehrFhirBaseUrl: 'https://ehr.example/fhir/R4/',
        ehrFhirAuth: {
          type: 'client-credentials',
          tokenUrl: 'https://ehr.example/token',
          clientIdEnv: 'EHR_ID',
          clientSecretEnv: 'EHR_SECRET',
        },
      },
      'reportDestinations',
    ),
    {
      ehrMllp: { host: 'ehr.example', port: 2575, version: '2.3', includePdf: true },
      ehrFhirBaseUrl: 'https://ehr.example/fhir/R4',
      ehrFhirAuth: {
        type: 'client-credentials',
        tokenUrl: 'https://ehr.example/token',
        clientIdEnv: 'EHR_ID',
        clientSecretEnv: 'EHR_SECRET',
      },
    },
  );
});

test('a bad setting is refused with its path and reason', (t) => {
  const refused = (value: unknown) => t.throws(() => parseReportDestinations(value, 'reportDestinations'))?.message;
  t.regex(refused({ ehrMllp: { host: 'h', port: 1, version: '2.6' } }) ?? '', /reportDestinations\.ehrMllp\.version/);
  t.regex(refused({ ehrFhirAuth: { type: 'bearer', tokenEnv: 'T' } }) ?? '', /needs ehrFhirBaseUrl/);
  t.regex(
    refused({ ehrFhirBaseUrl: 'http://x', ehrFhirAuth: { type: 'bearer', tokenEnv: 'eyJhbGciOi.secret-token' } }) ?? '',
    /NAME of an environment variable/,
  );
  t.regex(refused({ ehrFhirBaseUrl: 'http://x', ehrFhirAuth: { type: 'bearer', token: 'x' } }) ?? '', /token/);
});

test('a report link instead of the PDF needs an e-mail address and a lifetime of one hour to a month', (t) => {
  t.deepEqual(
    parseReportDestinations({ email: 'reports@clinic.example', emailLink: { validHours: 72 } }, 'reportDestinations'),
    { email: 'reports@clinic.example', emailLink: { validHours: 72 } },
  );
  const refused = (value: unknown) => t.throws(() => parseReportDestinations(value, 'reportDestinations'))?.message;
  t.regex(refused({ emailLink: { validHours: 24 } }) ?? '', /reportDestinations\.emailLink: needs email/);
  t.regex(
    refused({ email: 'a@b.example', emailLink: { validHours: 0 } }) ?? '',
    /reportDestinations\.emailLink\.validHours: expected a number from 1 to 744/,
  );
  t.regex(refused({ email: 'a@b.example', emailLink: { days: 2 } }) ?? '', /reportDestinations\.emailLink\.days/);
});
