// The billing view of the RSO process (the seed's invoice list): per facility and month, the exams whose report
// went back, each priced by the first of the facility's billing rules that matches (facility.ts billingRuleFor).
// An exam is billed in the month its first final report was issued, so an amendment does not bill it again. No
// payments: this is what the facility owes, as a table and CSV.
import type { HubDb } from '../store/db.ts';
import { InvalidInputError } from './errors.ts';
import type { Exam } from './exam.ts';
import { billingRuleFor, type BillingRule, type Facility } from './facility.ts';

export interface BillingLine {
  examNumber: string;
  /** When the first final report was issued (ISO 8601 UTC). */
  reportedAt: string;
  procedureCode: string;
  procedure: string;
  modality: string | null;
  priority: string;
  /** null when no rule matches: shown so the rule set can be fixed, never priced as 0. */
  amount: number | null;
  currency: string | null;
}

export interface BillingStatement {
  facility: string;
  month: string;
  lines: BillingLine[];
  /** Sum per currency of the priced lines. */
  totals: Record<string, number>;
  unpriced: number;
}

export function monthRange(month: string): { from: string; before: string } {
  const match = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!match) throw new InvalidInputError('month', `expected YYYY-MM, got "${month}"`);
  const year = Number(match[1]);
  const index = Number(match[2]) - 1;
  return {
    from: new Date(Date.UTC(year, index, 1)).toISOString(),
    before: new Date(Date.UTC(year, index + 1, 1)).toISOString(),
  };
}

function firstFinal(exam: Pick<Exam, 'reports'>): string | undefined {
  return exam.reports
    .filter((r) => r.status === 'final' || r.status === 'amended')
    .map((r) => r.issuedAt)
    .sort()[0];
}

function lineOf(exam: Exam, reportedAt: string, rule: BillingRule | undefined): BillingLine {
  return {
    examNumber: exam.examNumber,
    reportedAt,
    procedureCode: exam.procedure.code,
    procedure: exam.procedure.text ?? exam.procedure.display ?? exam.procedure.code,
    modality: exam.modality ?? null,
    priority: exam.priority,
    amount: rule?.amount ?? null,
    currency: rule?.currency ?? null,
  };
}

export async function billingStatement(db: HubDb, facility: Facility, month: string): Promise<BillingStatement> {
  const { from, before } = monthRange(month);
  const exams = await db
    .collection<Exam>('exams')
    .find(
      {
        facility: facility.code,
        status: { $in: ['final', 'amended', 'completed'] },
        'reports.issuedAt': { $gte: from, $lt: before },
      },
      { projection: { history: 0, outbox: 0 } },
    )
    .toArray();
  const lines: BillingLine[] = [];
  for (const exam of exams) {
    const reportedAt = firstFinal(exam);
    if (reportedAt === undefined || reportedAt < from || reportedAt >= before) continue;
    const rule = billingRuleFor(facility, {
      procedureCode: exam.procedure.code,
      priority: exam.priority,
      ...(exam.modality === undefined ? {} : { modality: exam.modality }),
    });
    lines.push(lineOf(exam, reportedAt, rule));
  }
  lines.sort((a, b) => a.reportedAt.localeCompare(b.reportedAt) || a.examNumber.localeCompare(b.examNumber));
  const totals: Record<string, number> = {};
  for (const line of lines)
    if (line.amount !== null && line.currency !== null)
      totals[line.currency] = Math.round(((totals[line.currency] ?? 0) + line.amount) * 100) / 100;
  return { facility: facility.code, month, lines, totals, unpriced: lines.filter((l) => l.amount === null).length };
}

const csvColumns = [
  'examNumber',
  'reportedAt',
  'procedureCode',
  'procedure',
  'modality',
  'priority',
  'amount',
  'currency',
] as const;

/** RFC 4180: CRLF lines, fields quoted when they hold a quote, comma or line break; a leading =+-@ is defused. */
export function billingCsv(statement: BillingStatement): string {
  const cell = (value: string | number | null): string => {
    if (value === null) return '';
    let text = String(value);
    if (/^[=+\-@]/.test(text) && typeof value === 'string') text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const rows = statement.lines.map((line) => csvColumns.map((key) => cell(line[key])).join(','));
  return `${[csvColumns.join(','), ...rows].join('\r\n')}\r\n`;
}
