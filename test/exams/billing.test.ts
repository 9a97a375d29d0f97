// Billing rules are checked when a facility is saved (a priority the exams never have, a currency that is not
// ISO 4217 would price nothing or total wrongly), and the CSV is RFC 4180 with formula-looking cells defused.
import test from 'ava';
import { billingCsv, monthRange } from '../../exams/billing.ts';
import { parseFacility } from '../../exams/facility.ts';

const base = { code: 'F1', name: 'F1', aeTitles: [], sendingFacilities: [], reportDestinations: {} };

test('a billing rule with an unknown priority or a currency that is not ISO 4217 is refused at its path', (t) => {
  const badPriority = () =>
    parseFacility({ ...base, billingRules: [{ priority: 'soon', amount: 1, currency: 'USD' }] });
  t.throws(badPriority, { message: /billingRules\[0\]\.priority/ });
  const badCurrency = () => parseFacility({ ...base, billingRules: [{ amount: 1, currency: 'dollars' }] });
  t.throws(badCurrency, { message: /billingRules\[0\]\.currency: expected an ISO 4217 code/ });
  const good = parseFacility({
    ...base,
    billingRules: [{ modality: 'CT', priority: 'stat', amount: 95, currency: 'USD' }],
  });
  t.deepEqual(good.billingRules, [{ modality: 'CT', priority: 'stat', amount: 95, currency: 'USD' }]);
});

test('a month is a half-open UTC range and the CSV quotes and defuses its cells', (t) => {
  t.deepEqual(monthRange('2026-12'), { from: '2026-12-01T00:00:00.000Z', before: '2027-01-01T00:00:00.000Z' });
  t.throws(() => monthRange('2026-1'), { message: /month: expected YYYY-MM/ });
  const csv = billingCsv({
    facility: 'F1',
    month: '2026-12',
    totals: {},
    unpriced: 1,
    lines: [
      {
        examNumber: 'E1',
        reportedAt: '2026-12-02T10:00:00.000Z',
        procedureCode: '=HYPERLINK("x")',
        procedure: 'CT, "head"',
        modality: null,
        priority: 'routine',
        amount: null,
        currency: null,
      },
    ],
  });
  t.is(csv.split('\r\n')[1], `E1,2026-12-02T10:00:00.000Z,"'=HYPERLINK(""x"")","CT, ""head""",,routine,,`);
});
