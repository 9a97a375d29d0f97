// HL7 DTM/TS with the precisions and offsets real feeds send, to what the exam domain stores.
import test from 'ava';
import { checkTimeZone, hl7Date, hl7DateTime, senderOffset } from '../../../hl7/hl7-dates.ts';
import { Hl7MappingError } from '../../../hl7/mapping-error.ts';
import { parseExamDestinationSettings } from '../../../hl7/exam-destination.ts';
import { ValidationError } from '../../../runtime/validate.ts';

test('a birth date keeps the precision the sender has and drops a time', (t) => {
  t.is(hl7Date('1962', 'PID-7'), '1962');
  t.is(hl7Date('196207', 'PID-7'), '1962-07');
  t.is(hl7Date('19620704', 'PID-7'), '1962-07-04');
  t.is(hl7Date('196207041230', 'PID-7'), '1962-07-04');
  t.is(hl7Date('19620704123015.25-0500', 'PID-7'), '1962-07-04');
});

test('an impossible birth date is refused naming the field, without repeating the value', (t) => {
  for (const bad of ['19620230', '19621301', '1962-07-04', 'unknown', '19620704250000']) {
    const error = t.throws(() => hl7Date(bad, 'PID-7'), { instanceOf: Hl7MappingError });
    t.is(error?.field, 'PID-7');
    t.false(error?.message.includes(bad), error?.message);
  }
});

test('a time with its own offset is exact; without one the MSH-7 offset, else the configured zone, places it', (t) => {
  t.is(hl7DateTime('20240612143000+0200', 'OBR-36', { timeZone: 'America/Chicago' }), '2024-06-12T12:30:00.000Z');
  t.is(
    hl7DateTime('20240612143000', 'OBR-36', { timeZone: 'America/Chicago', offsetMinutes: -240 }),
    '2024-06-12T18:30:00.000Z',
  );
  t.is(
    hl7DateTime('20240612143000', 'OBR-36', { timeZone: 'America/Chicago' }),
    '2024-06-12T19:30:00.000Z',
    'CDT, UTC-5',
  );
  t.is(
    hl7DateTime('20240112143000', 'OBR-36', { timeZone: 'America/Chicago' }),
    '2024-01-12T20:30:00.000Z',
    'CST, UTC-6',
  );
  t.is(
    hl7DateTime('20240612', 'OBR-36', { timeZone: 'Europe/Berlin' }),
    '2024-06-11T22:00:00.000Z',
    'a date alone is its local midnight',
  );
  t.is(hl7DateTime('202406121430', 'TQ1-7', { timeZone: 'UTC' }), '2024-06-12T14:30:00.000Z');
  t.is(hl7DateTime('20240612143000.1234', 'TQ1-7', { timeZone: 'UTC' }), '2024-06-12T14:30:00.123Z');
});

test('a scheduled time needs at least a day, and a real one', (t) => {
  t.throws(() => hl7DateTime('202406', 'OBR-36', { timeZone: 'UTC' }), {
    instanceOf: Hl7MappingError,
    message: "OBR-36: '202406' names no day",
  });
  t.throws(() => hl7DateTime('20240631', 'OBR-36', { timeZone: 'UTC' }), {
    instanceOf: Hl7MappingError,
    message: /^OBR-36: '20240631' is not an HL7 date\/time/,
  });
});

test('the sender offset comes from MSH-7 only when it carries one', (t) => {
  t.is(senderOffset('20240611093000-0400'), -240);
  t.is(senderOffset('202406110930+0530'), 330);
  t.is(senderOffset('20240611093000'), undefined);
  t.is(senderOffset(undefined), undefined);
});

test('the destination settings refuse an unknown time zone and unknown keys, naming the path', (t) => {
  t.notThrows(() => checkTimeZone('America/New_York'));
  t.deepEqual(parseExamDestinationSettings({}, 'd'), { timeZone: 'UTC' });
  t.deepEqual(parseExamDestinationSettings({ facility: 'VALLEYGEN', timeZone: 'Europe/Berlin' }, 'd'), {
    facility: 'VALLEYGEN',
    timeZone: 'Europe/Berlin',
  });
  t.throws(() => parseExamDestinationSettings({ timeZone: 'Mars/Olympus' }, 'destinations[0].connector.settings'), {
    instanceOf: ValidationError,
    message: /^destinations\[0\]\.connector\.settings\.timeZone: unknown time zone 'Mars\/Olympus'/,
  });
  t.throws(() => parseExamDestinationSettings({ facilty: 'X' }, 'd'), {
    instanceOf: ValidationError,
    message: /^d\.facilty: unknown key/,
  });
});
