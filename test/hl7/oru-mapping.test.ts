// The dictation ORU^R01 corpus (test/fixtures/hl7/corpus/results, expected.json beside it): each message mapped to
// the report it carries, or refused naming the field and the kind of problem the ACK's ERR reports.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { decodeHl7 } from '../../hl7/charset.ts';
import { Hl7MappingError } from '../../hl7/mapping-error.ts';
import { Hl7Message } from '../../hl7/message.ts';
import { mapDictatedOru } from '../../hl7/oru-mapping.ts';
import { fixtures } from './mllp-peer.ts';

interface Expected {
  state?: string;
  placer?: string;
  filler?: string;
  accession?: string;
  interpreter?: string;
  signedAt?: string;
  findings?: string;
  impression?: string;
  /** SHA-256 of the PDF the ED carries. */
  pdf?: string;
  error?: { field: string; problem: string };
}

const dir = path.join(fixtures, 'corpus', 'results');
const expected = JSON.parse(await readFile(path.join(dir, 'expected.json'), 'utf8')) as Record<string, Expected>;

test('the corpus has at least 15 dictation reports across 2.3 to 2.5.1', (t) => {
  const reports = Object.entries(expected).filter(([, e]) => e.error === undefined);
  t.true(reports.length >= 15);
  for (const version of ['v23', 'v231', 'v24', 'v25-', 'v251'])
    t.true(
      reports.some(([name]) => name.startsWith(version)),
      version,
    );
});

for (const [name, want] of Object.entries(expected)) {
  test(`${name}: ${want.error ? `refused at ${want.error.field} (${want.error.problem})` : `${want.state === 'amended' ? 'an' : 'a'} ${want.state} report`}`, async (t) => {
    const message = Hl7Message.parse(decodeHl7(await readFile(path.join(dir, name))).text);
    if (want.error) {
      const error = t.throws(() => mapDictatedOru(message, 'America/New_York'), { instanceOf: Hl7MappingError });
      t.like(error, want.error);
      return;
    }
    const report = mapDictatedOru(message, 'America/New_York');
    t.is(report.state as string | undefined, want.state);
    t.is(report.placer?.value, want.placer);
    t.is(report.filler?.value, want.filler);
    t.is(report.accession, want.accession);
    t.is(report.interpreter?.id, want.interpreter);
    if (want.signedAt) t.is(report.signedAt, want.signedAt);
    t.is(report.findings, want.findings);
    t.is(report.impression, want.impression);
    t.is(report.pdf && createHash('sha256').update(report.pdf).digest('hex'), want.pdf);
  });
}

test('the radiologist comes with family and given name whether sent as subcomponents or components', async (t) => {
  for (const name of ['v23-tx-lines-final.hl7', 'v25-interpreter-components.hl7']) {
    const message = Hl7Message.parse(decodeHl7(await readFile(path.join(dir, name))).text);
    t.deepEqual(mapDictatedOru(message, 'UTC').interpreter, { id: 'rad-chen', family: 'Chen', given: 'Wei' }, name);
  }
});
