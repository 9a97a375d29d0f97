// Which patients a token limited to some facilities may see: those with an identifier of one of its facilities
// or an exam at one of them. Used wherever a request names a patient – a read, and an order's subject – so a
// limited token cannot reach another facility's patient by naming it in a ServiceRequest.
import type { Patient } from '../exams/patient.ts';
import type { ExamService } from '../exams/service.ts';
import { facilityLimit, type FhirContext } from './request-context.ts';

export async function patientVisible(exams: ExamService, patient: Patient, context: FhirContext): Promise<boolean> {
  const limit = facilityLimit(context);
  if (limit === undefined) return true;
  if (patient.identifiers.some((id) => id.facility !== undefined && limit.includes(id.facility))) return true;
  const page = await exams.findExams({ patientIds: [patient._id], facilities: limit, limit: 0 });
  return page.total > 0;
}
