// A facility's technicians or radiologists, one row each. Contact details are checked by the hub when the
// facility is saved (E.164 numbers, e-mail addresses), and each way of notifying needs its address
// (exams/facility-staff.ts); the refusal shows in the row and column it names.
import { Button, Checkbox, Group, Stack, Table, Text } from '@mantine/core';
import { listAt, pathText, valueAt } from './draft.ts';
import { TextField } from './fields.tsx';
import { useFacilityForm } from './form-context.ts';
import { RemoveButton } from './RemoveButton.tsx';
import { useIssueAt } from './issues.ts';

const notifyWays = [
  { value: 'email', label: 'e-mail' },
  { value: 'sms', label: 'SMS' },
  { value: 'fax', label: 'fax' },
] as const;

interface StaffTableProps {
  field: 'technicians' | 'radiologists';
  /** One member: "Technician". */
  noun: string;
}

export function StaffTable({ field, noun }: StaffTableProps) {
  const { draft, set, readOnly } = useFacilityForm();
  const members = listAt(draft, [field]);
  return (
    <Stack gap="xs">
      {members.length === 0 ? (
        <Text size="sm" c="dimmed">
          None.
        </Text>
      ) : (
        <Table withRowBorders={false} verticalSpacing={4} horizontalSpacing={6} layout="fixed">
          <Table.Thead>
            <Table.Tr>
              <Table.Th w={130}>Id</Table.Th>
              <Table.Th>Name</Table.Th>
              <Table.Th>E-mail</Table.Th>
              <Table.Th w={145}>Phone (SMS)</Table.Th>
              <Table.Th w={145}>Fax</Table.Th>
              <Table.Th w={196}>Notify by</Table.Th>
              {!readOnly && <Table.Th w={44} />}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {members.map((_, i) => {
              const who = `${noun} ${i + 1}`;
              return (
                // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity until their id is typed
                <Table.Tr key={i} data-testid={`${field}-row`}>
                  <Table.Td valign="top">
                    <TextField path={[field, i, 'id']} label={`${who} id`} hideLabel keepEmpty />
                  </Table.Td>
                  <Table.Td valign="top">
                    <TextField path={[field, i, 'name']} label={`${who} name`} hideLabel keepEmpty />
                  </Table.Td>
                  <Table.Td valign="top">
                    <TextField path={[field, i, 'email']} label={`${who} e-mail`} hideLabel />
                  </Table.Td>
                  <Table.Td valign="top">
                    <TextField path={[field, i, 'phone']} label={`${who} phone`} hideLabel placeholder="+1…" />
                  </Table.Td>
                  <Table.Td valign="top">
                    <TextField path={[field, i, 'fax']} label={`${who} fax`} hideLabel placeholder="+1…" />
                  </Table.Td>
                  <Table.Td valign="top">
                    <NotifyWays field={field} index={i} who={who} />
                  </Table.Td>
                  {!readOnly && (
                    <Table.Td valign="top">
                      <RemoveButton list={[field]} index={i} label={`Remove ${who}`} />
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
          onClick={() => set([field, members.length], { id: '', name: '' })}
        >
          Add {noun.toLowerCase()}
        </Button>
      )}
    </Stack>
  );
}

/** The order of `notify` is the order of preference: kept, with a newly ticked way last. */
function inOrder(before: readonly string[], ticked: readonly string[]): string[] {
  return [...before.filter((w) => ticked.includes(w)), ...ticked.filter((w) => !before.includes(w))];
}

/** Absent `notify` means "by e-mail when there is an address"; ticking any box makes the list explicit. */
function NotifyWays({ field, index, who }: { field: StaffTableProps['field']; index: number; who: string }) {
  const { draft, set, readOnly } = useFacilityForm();
  const path = [field, index, 'notify'] as const;
  const error = useIssueAt(pathText(path));
  const current = valueAt(draft, path);
  const chosen = Array.isArray(current) ? current.filter((w): w is string => typeof w === 'string') : [];
  return (
    <Checkbox.Group
      aria-label={`${who} notify by`}
      value={chosen}
      error={error}
      onChange={(next) => set(path, next.length === 0 ? undefined : inOrder(chosen, next))}
    >
      <Group gap={12} mt={10} wrap="nowrap">
        {notifyWays.map((way, j) => (
          <Checkbox
            key={way.value}
            value={way.value}
            label={way.label}
            size="xs"
            styles={{ label: { whiteSpace: 'nowrap', paddingInlineStart: 6 } }}
            disabled={readOnly}
            aria-label={`${who} notify by ${way.label}`}
            {...(j === 0 ? { 'data-path': pathText(path) } : {})}
          />
        ))}
      </Group>
    </Checkbox.Group>
  );
}
