// The billing view: per facility and month, the exams whose report was signed that month, priced by the
// facility's billing rules, with totals per currency and a CSV export. An exam no rule prices is shown unpriced
// so the rules can be fixed. No payments.
import { Alert, Button, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useState } from 'react';
import { get, query } from '../../api/client.ts';
import { Loadable } from '../../ui/states.tsx';
import { useLoad } from '../../ui/use-load.ts';
import { FacilityPicker, useFacility } from '../facility/FacilityPicker.tsx';
import type { BillingStatement } from '../facility/work-types.ts';

const money = (amount: number, currency: string) =>
  new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(amount);

export function BillingScreen() {
  const [facility, setFacility] = useFacility();
  const [month, setMonth] = useState(new Date().toISOString().slice(0, 7));
  const path = `/api/facilities/${encodeURIComponent(facility)}/billing`;
  const statement = useLoad(() => get<BillingStatement>(`${path}${query({ month })}`), [facility, month]);
  return (
    <Stack>
      <Group justify="space-between" align="flex-end">
        <Title order={2}>Billing</Title>
        <Group align="flex-end">
          <FacilityPicker value={facility} onChange={setFacility} />
          <TextInput label="Month" type="month" value={month} onChange={(e) => setMonth(e.currentTarget.value)} />
          <Button component="a" variant="default" href={`${path}${query({ month, format: 'csv' })}`} download>
            Export CSV
          </Button>
        </Group>
      </Group>
      <Loadable loaded={statement} isEmpty={(s) => s.lines.length === 0} empty="No exam was reported in this month.">
        {(s) => (
          <>
            {s.unpriced > 0 && (
              <Alert color="orange" variant="light">
                {s.unpriced} exam{s.unpriced === 1 ? '' : 's'} matched no billing rule of the facility.
              </Alert>
            )}
            <Table striped data-testid="billing-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Exam number</Table.Th>
                  <Table.Th>Reported</Table.Th>
                  <Table.Th>Procedure</Table.Th>
                  <Table.Th>Modality</Table.Th>
                  <Table.Th>Priority</Table.Th>
                  <Table.Th ta="right">Amount</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {s.lines.map((line) => (
                  <Table.Tr key={line.examNumber}>
                    <Table.Td ff="monospace">{line.examNumber}</Table.Td>
                    <Table.Td>{new Date(line.reportedAt).toLocaleDateString()}</Table.Td>
                    <Table.Td>{line.procedure}</Table.Td>
                    <Table.Td>{line.modality ?? '–'}</Table.Td>
                    <Table.Td>{line.priority}</Table.Td>
                    <Table.Td ta="right">
                      {line.amount === null || line.currency === null ? (
                        <Text c="orange">no rule</Text>
                      ) : (
                        money(line.amount, line.currency)
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
              <Table.Tfoot>
                {Object.entries(s.totals).map(([currency, total]) => (
                  <Table.Tr key={currency}>
                    <Table.Th colSpan={5}>Total ({s.lines.length} exams)</Table.Th>
                    <Table.Th ta="right" data-testid={`total-${currency}`}>
                      {money(total, currency)}
                    </Table.Th>
                  </Table.Tr>
                ))}
              </Table.Tfoot>
            </Table>
          </>
        )}
      </Loadable>
    </Stack>
  );
}
