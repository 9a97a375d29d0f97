// HL7 dates and times to what the exam domain stores. DTM (v2.5.1 ch. 2A.3.22) is
// YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]: precision varies by sender, and v2.3's TS puts the same text in
// component 1 (component 2, the degree of precision, is deprecated and ignored here). A value without an
// offset is in "the local time zone of the sender" (ch. 2A.3.22): we take the offset of MSH-7 when the sender
// put one there, else the time zone configured for the channel's destination.
import { Hl7MappingError } from './mapping-error.ts';

interface Dtm {
  year: number;
  month?: number;
  day?: number;
  hour?: number;
  minute?: number;
  second?: number;
  millisecond?: number;
  /** Minutes east of UTC, when the value carries an offset. */
  offsetMinutes?: number;
}

const dtmPattern =
  /^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?)?)?)?)?(?:([+-])(\d{2})(\d{2}))?$/;

function parseDtm(text: string): Dtm | undefined {
  const m = dtmPattern.exec(text.trim());
  if (!m) return undefined;
  const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
  const dtm: Dtm = { year: Number(m[1]) };
  const parts = { month: num(m[2]), day: num(m[3]), hour: num(m[4]), minute: num(m[5]), second: num(m[6]) };
  for (const [key, value] of Object.entries(parts)) if (value !== undefined) dtm[key as keyof typeof parts] = value;
  if (m[7] !== undefined) dtm.millisecond = Math.round(Number(`0.${m[7]}`) * 1000);
  if (m[8] !== undefined) dtm.offsetMinutes = (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]));
  return isReal(dtm) ? dtm : undefined;
}

function isReal(d: Dtm): boolean {
  if (d.month !== undefined && (d.month < 1 || d.month > 12)) return false;
  if (d.day !== undefined && (d.day < 1 || d.day > daysIn(d.year, d.month ?? 1))) return false;
  if (d.hour !== undefined && d.hour > 23) return false;
  if (d.minute !== undefined && d.minute > 59) return false;
  if (d.second !== undefined && d.second > 59) return false;
  return d.offsetMinutes === undefined || Math.abs(d.offsetMinutes) <= 14 * 60;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * A birth date (PID-7) as YYYY-MM-DD, or YYYY-MM / YYYY when the sender knows no more. The time part some
 * feeds add (birth time, or a midnight `000000`) is dropped: the domain keeps dates. No value in the error
 * text: a birth date is patient data.
 */
export function hl7Date(text: string, field: string): string {
  const d = parseDtm(text);
  if (!d) throw new Hl7MappingError(field, `${field}: not an HL7 date (expected YYYY[MM[DD]])`);
  if (d.month === undefined) return pad(d.year, 4);
  if (d.day === undefined) return `${pad(d.year, 4)}-${pad(d.month)}`;
  return `${pad(d.year, 4)}-${pad(d.month)}-${pad(d.day)}`;
}

/** Where to place an HL7 time that has no offset of its own. */
export interface SenderZone {
  /** Minutes east of UTC from MSH-7, when the sender put an offset there. */
  offsetMinutes?: number;
  /** IANA time zone of the sender (the destination's setting), used when MSH-7 has no offset either. */
  timeZone: string;
}

/** The offset MSH-7 carries, if any: the sender's zone for the other times of the message. */
export function senderOffset(msh7: string | undefined): number | undefined {
  return msh7 === undefined ? undefined : parseDtm(msh7)?.offsetMinutes;
}

/** A date-time (OBR-36, TQ1-7, ORC-7.4) as ISO 8601 UTC. At least a day is required: a month says no time. */
export function hl7DateTime(text: string, field: string, zone: SenderZone): string {
  const d = parseDtm(text);
  if (!d)
    throw new Hl7MappingError(
      field,
      `${field}: '${text}' is not an HL7 date/time (expected YYYYMMDD[HHMM[SS]][+/-ZZZZ])`,
    );
  if (d.month === undefined || d.day === undefined)
    throw new Hl7MappingError(field, `${field}: '${text}' names no day`);
  const wall = Date.UTC(d.year, d.month - 1, d.day, d.hour ?? 0, d.minute ?? 0, d.second ?? 0, d.millisecond ?? 0);
  const offset = d.offsetMinutes ?? zone.offsetMinutes;
  const utc = offset === undefined ? wallTimeToUtc(wall, zone.timeZone) : wall - offset * 60_000;
  return new Date(utc).toISOString();
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Throws a RangeError for a name the runtime's time zone database does not know. */
export function checkTimeZone(timeZone: string): void {
  formatterFor(timeZone);
}

function zoneOffsetMs(timeZone: string, utc: number): number {
  const parts = formatterFor(timeZone).formatToParts(new Date(utc));
  const part = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  return asUtc - (utc - (((utc % 1000) + 1000) % 1000));
}

/** The instant a wall-clock time in a zone names. Across a DST change the second guess settles it. */
function wallTimeToUtc(wall: number, timeZone: string): number {
  const first = wall - zoneOffsetMs(timeZone, wall);
  const second = zoneOffsetMs(timeZone, first);
  return wall - second;
}
