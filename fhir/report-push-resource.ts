// The DiagnosticReport (FHIR R4) a facility's EHR receives. It goes to a server that knows none of the hub's ids,
// so every reference is logical, by identifier (R4 Reference.identifier): the patient by its MRN, the order by
// its placer number (type PLAC), the radiologist by the hub's staff id. The report's own identifier,
// `urn:rso-hub:report-id|<id>`, is what the conditional update matches on, so every resend lands on one report.
import type { Attachment, DiagnosticReport, Identifier, Patient, Reference, ServiceRequest } from '@medplum/fhirtypes';
import type { IssuedReport } from '../exams/report-delivery.ts';

export const reportIdSystem = 'urn:rso-hub:report-id';

const statusOf: Readonly<Record<string, DiagnosticReport['status']>> = {
  preliminary: 'preliminary',
  final: 'final',
  amended: 'amended',
  'entered-in-error': 'entered-in-error',
};

export interface PushDocument {
  contentType: string;
  title: string;
  bytes: Buffer;
}

export function reportPushResource(issued: IssuedReport, document: PushDocument | undefined): DiagnosticReport {
  const { report, exam, patient, facility } = issued;
  const status = statusOf[report.state];
  if (status === undefined) throw new Error(`a ${report.state} report is not pushed`);
  const mrn = patient.identifiers[0];
  const subject: Reference<Patient> = {
    ...(mrn === undefined ? {} : { identifier: { system: mrn.system, value: mrn.value } }),
    ...(patientDisplay(issued) === undefined ? {} : { display: patientDisplay(issued) }),
  };
  const placer = exam.identifiers.find((i) => i.kind === 'placer');
  const basedOn: Reference<ServiceRequest>[] =
    placer === undefined
      ? []
      : [
          {
            identifier: {
              type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'PLAC' }] },
              ...(placer.system === undefined ? {} : { system: placer.system }),
              value: placer.value,
            },
          },
        ];
  const resource: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    identifier: identifiers(issued),
    status,
    category: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'RAD', display: 'Radiology' }] },
    ],
    code: {
      coding: [
        {
          ...(exam.procedure.system === undefined ? {} : { system: exam.procedure.system }),
          code: exam.procedure.code,
          ...(exam.procedure.display === undefined ? {} : { display: exam.procedure.display }),
        },
      ],
      ...(exam.procedure.text === undefined ? {} : { text: exam.procedure.text }),
    },
    subject,
    presentedForm: [presentedForm(issued, document)],
  };
  if (basedOn.length > 0) resource.basedOn = basedOn;
  const effective = exam.studies[0]?.receivedAt ?? exam.scheduledAt;
  if (effective !== undefined) resource.effectiveDateTime = effective;
  if (report.signedAt !== undefined) resource.issued = report.signedAt;
  if (report.author !== undefined)
    resource.resultsInterpreter = [
      {
        identifier: {
          system: `urn:rso-hub:facility:${encodeURIComponent(facility.code)}:radiologist`,
          value: report.author.id,
        },
        ...(report.author.name === undefined ? {} : { display: report.author.name }),
      },
    ];
  if (report.impression !== undefined && report.impression !== '') resource.conclusion = report.impression;
  return resource;
}

function identifiers(issued: IssuedReport): Identifier[] {
  const own: Identifier = { system: reportIdSystem, value: issued.report._id };
  const accession = issued.exam.identifiers.find((i) => i.kind === 'accession');
  const list: Identifier[] = [own, ...issued.report.identifiers.map((i) => ({ system: i.system, value: i.value }))];
  if (accession !== undefined)
    list.push({
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] },
      ...(accession.system === undefined ? {} : { system: accession.system }),
      value: accession.value,
    });
  return list;
}

function patientDisplay({ patient }: IssuedReport): string | undefined {
  const parts = [...patient.name.given, patient.name.family].filter((p): p is string => Boolean(p));
  return parts.length === 0 ? undefined : parts.join(' ');
}

/** The PDF when there is one (the facility's document), else the report's text as text/plain. */
function presentedForm({ report }: IssuedReport, document: PushDocument | undefined): Attachment {
  if (document !== undefined)
    return {
      contentType: document.contentType,
      title: document.title,
      size: document.bytes.length,
      data: document.bytes.toString('base64'),
    };
  const text = [
    report.findings ? `Findings:\n${report.findings}` : '',
    report.impression ? `Impression:\n${report.impression}` : '',
  ]
    .filter(Boolean)
    .join('\n\n');
  return { contentType: 'text/plain; charset=utf-8', title: 'Report', data: Buffer.from(text).toString('base64') };
}
