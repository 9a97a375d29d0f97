// An exam ready for a report: ordered over HL7 for Valley General, with a patient whose name is not Latin-1
// (the PDF must show it) and an accession number, and a study attached.
import type { ExamService } from '../../exams/service.ts';
import { hl7Source } from './setup.ts';

export async function orderedExam(exams: ExamService, placer: string, withStudy = true) {
  const exam = await exams.createOrder(
    {
      facility: 'VALLEYGEN',
      patient: {
        identifiers: [{ system: 'urn:oid:2.16.840.1.113883.3.9999.1', value: `MRN-${placer}`, facility: 'VALLEYGEN' }],
        name: { family: 'Müller', given: ['Zoë'] },
        birthDate: '1961-02-03',
      },
      identifiers: [
        { kind: 'placer', value: placer },
        { kind: 'accession', value: `ACC-${placer}` },
      ],
      procedure: { code: 'CTHEAD', text: 'CT head without contrast' },
      modality: 'CT',
    },
    hl7Source,
  );
  if (withStudy)
    await exams.attachStudy(
      exam.examNumber,
      { studyInstanceUid: `1.2.826.0.1.${placer.length}.${Date.now()}` },
      hl7Source,
    );
  return exam;
}
