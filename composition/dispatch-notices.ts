// Who a dispatch event notifies and with what text. A new exam notifies every technician of the facility (or the
// one the order named), an assignment only the assignee, an escalation the next technician and the one before.
// Texts are the facility's templates (checked when the facility was saved) or the defaults below; they carry
// exam number, facility, procedure and priority, and no patient data, because they go out by SMS and fax.
import type { Exam } from '../exams/exam.ts';
import type { Facility } from '../exams/facility.ts';
import {
  type DispatchTemplates,
  dispatchTemplateVariables,
  type NotifyWay,
  notifyWaysOf,
  type StaffMember,
} from '../exams/facility-staff.ts';
import type { ExamEvent } from '../exams/outbox.ts';
import type { ExamService } from '../exams/service.ts';
import { compileTemplate } from '../runtime/template.ts';

export const dispatchEventTypes = ['exam.created', 'exam.technician-assigned', 'exam.escalated'] as const;

const defaults: Required<DispatchTemplates> = {
  subject: '{{priority}} exam at {{facility}}',
  email:
    '{{technician}}, {{reason}}.\n\nExam: {{examNumber}}\nFacility: {{facility}}\nProcedure: {{procedure}}\nPriority: {{priority}}\n\nPlease acknowledge the exam in the RSO work list.\n',
  sms: '{{reason}}: exam {{examNumber}} at {{facility}}, {{procedure}}, {{priority}}',
  fax: 'To {{technician}}: {{reason}}.\nExam: {{examNumber}}\nFacility: {{facility}}\nProcedure: {{procedure}}\nPriority: {{priority}}',
};

const reasons: Record<(typeof dispatchEventTypes)[number], string> = {
  'exam.created': 'a new exam was requested',
  'exam.technician-assigned': 'an exam was assigned to you',
  'exam.escalated': 'an exam was not acknowledged in time and is escalated',
};

export interface Notice {
  technician: StaffMember;
  subject: string;
  text: string;
}

export interface DispatchEvent {
  exam: Exam;
  facility: Facility;
  event: ExamEvent;
}

/** Reads the event a dispatch message carries, with its exam and facility; undefined for other events. */
export async function dispatchEventOf(content: string, exams: ExamService): Promise<DispatchEvent | undefined> {
  const event = JSON.parse(content) as ExamEvent;
  if (!(dispatchEventTypes as readonly string[]).includes(event.type) || event.examNumber === undefined)
    return undefined;
  const exam = await exams.require(event.examNumber);
  const facility = await exams.facilities.require(exam.facility);
  return { exam, facility, event };
}

function recipientsOf({ exam, facility, event }: DispatchEvent): StaffMember[] {
  const byId = (id: unknown) => facility.technicians.filter((t) => t.id === id);
  switch (event.type) {
    case 'exam.created':
      return exam.technicianId === undefined ? facility.technicians : byId(exam.technicianId);
    case 'exam.technician-assigned':
      return byId(event.data['technicianId']);
    case 'exam.escalated':
      return [...byId(event.data['technicianId']), ...byId(event.data['previousTechnicianId'])];
    default:
      return [];
  }
}

/** The notices of one event for the technicians who want them by `way`. */
export function noticesFor(dispatch: DispatchEvent, way: NotifyWay): Notice[] {
  const { exam, facility, event } = dispatch;
  const templates = { ...defaults, ...facility.dispatchTemplates };
  const render = (key: keyof DispatchTemplates, technician: StaffMember) =>
    compileTemplate(templates[key], dispatchTemplateVariables, `dispatchTemplates.${key}`).render({
      examNumber: exam.examNumber,
      facility: facility.name,
      facilityCode: facility.code,
      procedure: exam.procedure.display ?? exam.procedure.text ?? exam.procedure.code,
      priority: exam.priority.toUpperCase(),
      technician: technician.name,
      reason: reasons[event.type as (typeof dispatchEventTypes)[number]] ?? event.type,
    });
  return recipientsOf(dispatch)
    .filter((technician) => notifyWaysOf(technician).includes(way))
    .map((technician) => ({ technician, subject: render('subject', technician), text: render(way, technician) }));
}
