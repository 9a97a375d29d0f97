// The × that takes one entry out of a list of the facility form (an AE title, a technician, a billing rule);
// read-only users get none.
import { ActionIcon } from '@mantine/core';
import type { Key } from './draft.ts';
import { useFacilityForm } from './form-context.ts';

export function RemoveButton({ list, index, label }: { list: readonly Key[]; index: number; label: string }) {
  const { removeItem, readOnly } = useFacilityForm();
  if (readOnly) return null;
  return (
    <ActionIcon variant="subtle" color="gray" size={36} aria-label={label} onClick={() => removeItem(list, index)}>
      ×
    </ActionIcon>
  );
}
