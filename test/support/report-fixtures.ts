// Report-side test data: a facility, patient, exam and report as the store holds them, built by hand so the
// ways-out tests can check every field they send without running the ways in.
import type { Exam } from '../../exams/exam.ts';
import { parseFacility, type Facility } from '../../exams/facility.ts';
import type { Patient } from '../../exams/patient.ts';
import type { Report } from '../../exams/report.ts';

export function testFacility(reportDestinations: unknown = {}): Facility {
  return parseFacility({
    code: 'VALLEYGEN',
    name: 'Valley General',
    aeTitles: ['VALLEY_CT'],
    sendingFacilities: ['VALLEYGEN'],
    radiologists: [{ id: 'rad-chen', name: 'Dr. Wei Chen' }],
    identitySystems: {
      authorities: { VALLEYGEN: 'urn:oid:2.16.840.1.113883.3.9999.1' },
      namespaces: { VALLEY_RIS: 'urn:oid:2.16.840.1.113883.3.9999.2' },
    },
    reportDestinations,
  });
}

const stamp = { createdAt: '2026-12-01T08:00:00.000Z', updatedAt: '2026-12-01T08:00:00.000Z', history: [], outbox: [] };

export function testPatient(): Patient {
  return {
    _id: 'pat-1',
    version: 1,
    ...stamp,
    identifiers: [
      { system: 'urn:oid:2.16.840.1.113883.3.9999.1', value: 'MRN-1001' },
      { system: 'urn:rso-hub:facility:VALLEYGEN:authority:TEC%20MRN', value: 'T-77' },
    ],
    identifierKeys: [],
    name: { family: "O'Brien^Smith", given: ['Mary', 'Ann'] },
    birthDate: '1961-04-09',
    sex: 'female',
  };
}

export function testExam(): Exam {
  return {
    _id: 'E-1001',
    version: 4,
    ...stamp,
    examNumber: 'E-1001',
    identifiers: [
      { kind: 'placer', value: 'PL-555', system: 'urn:oid:2.16.840.1.113883.3.9999.2' },
      { kind: 'accession', value: 'ACC-9001' },
    ],
    facility: 'VALLEYGEN',
    patientId: 'pat-1',
    procedure: {
      code: 'CTHEAD',
      display: 'CT head without contrast',
      system: 'urn:rso-hub:facility:VALLEYGEN:coding:VGCM',
    },
    priority: 'routine',
    priorityRank: 3,
    status: 'images-received',
    studies: [{ studyInstanceUid: '1.2.3.4', receivedAt: '2026-12-01T09:30:00.000Z' }],
    reports: [],
  };
}

export function testReport(overrides: Partial<Report> = {}): Report {
  return {
    _id: 'rep-1',
    version: 3,
    ...stamp,
    examNumber: 'E-1001',
    facility: 'VALLEYGEN',
    patientId: 'pat-1',
    state: 'final',
    findings: 'No acute intracranial haemorrhage.\nVentricles normal | midline & symmetric ^ fine ~ ok \\ done.',
    impression: 'Normal CT of the head.',
    author: { id: 'rad-chen', name: 'Dr. Wei Chen' },
    signedAt: '2026-12-01T10:15:00.000Z',
    identifiers: [],
    attachments: [],
    ...overrides,
  };
}
