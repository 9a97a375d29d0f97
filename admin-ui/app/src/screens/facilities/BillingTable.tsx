// A facility's billing rules, in order: the first rule matching an exam prices it (exams/facility.ts
// billingRuleFor), and an empty criterion or `*` matches anything. Amounts and ISO 4217 currencies are checked by
// the hub when the facility is saved.
import { Button, Stack, Table, Text } from '@mantine/core';
import { listAt } from './draft.ts';
import { NumberField, SelectField, TextField } from './fields.tsx';
import { useFacilityForm } from './form-context.ts';
import { RemoveButton } from './RemoveButton.tsx';

/** exams/exam.ts priorities, and `*` for any. */
const priorities = ['routine', 'urgent', 'asap', 'stat', '*'] as const;

export function BillingTable() {
  const { draft, set, readOnly } = useFacilityForm();
  const rules = listAt(draft, ['billingRules']);
  return (
    <Stack gap="xs">
      {rules.length === 0 ? (
        <Text size="sm" c="dimmed">
          No rule: exams of this facility are not billed.
        </Text>
      ) : (
        <Table withRowBorders={false} verticalSpacing={4} horizontalSpacing={6} layout="fixed">
          <Table.Thead>
            <Table.Tr>
              <Table.Th w={40}>#</Table.Th>
              <Table.Th>Procedure code</Table.Th>
              <Table.Th w={130}>Modality</Table.Th>
              <Table.Th w={150}>Priority</Table.Th>
              <Table.Th w={130}>Amount</Table.Th>
              <Table.Th w={110}>Currency</Table.Th>
              {!readOnly && <Table.Th w={44} />}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rules.map((_, i) => {
              const rule = `Billing rule ${i + 1}`;
              return (
                // biome-ignore lint/suspicious/noArrayIndexKey: a rule is its position; the first match wins
                <Table.Tr key={i} data-testid="billing-row">
                  <Table.Td valign="top" pt={12}>
                    <Text size="sm">{i + 1}</Text>
                  </Table.Td>
                  <Table.Td valign="top">
                    <TextField
                      path={['billingRules', i, 'procedureCode']}
                      label={`${rule} procedure code`}
                      hideLabel
                      placeholder="any"
                    />
                  </Table.Td>
                  <Table.Td valign="top">
                    <TextField
                      path={['billingRules', i, 'modality']}
                      label={`${rule} modality`}
                      hideLabel
                      placeholder="any"
                    />
                  </Table.Td>
                  <Table.Td valign="top">
                    <SelectField
                      path={['billingRules', i, 'priority']}
                      label={`${rule} priority`}
                      hideLabel
                      options={priorities}
                      noneLabel="any"
                    />
                  </Table.Td>
                  <Table.Td valign="top">
                    <NumberField
                      path={['billingRules', i, 'amount']}
                      label={`${rule} amount`}
                      hideLabel
                      min={0}
                      decimals
                    />
                  </Table.Td>
                  <Table.Td valign="top">
                    <TextField
                      path={['billingRules', i, 'currency']}
                      label={`${rule} currency`}
                      hideLabel
                      placeholder="USD"
                    />
                  </Table.Td>
                  {!readOnly && (
                    <Table.Td valign="top">
                      <RemoveButton list={['billingRules']} index={i} label={`Remove ${rule.toLowerCase()}`} />
                    </Table.Td>
                  )}
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      )}
      {!readOnly && (
        <Button
          variant="light"
          size="xs"
          w="fit-content"
          onClick={() => set(['billingRules', rules.length], { currency: 'USD' })}
        >
          Add billing rule
        </Button>
      )}
    </Stack>
  );
}
