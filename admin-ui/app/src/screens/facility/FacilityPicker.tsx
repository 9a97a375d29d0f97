// The facility a work screen shows: a facility user's own (a select when they have several); staff not limited
// to facilities type a code. Kept in the address (?facility=) so a reload shows the same list.
import { Select, TextInput } from '@mantine/core';
import { useSearchParams } from 'react-router';
import { useSession } from '../../session.tsx';

export function useFacility(): [string, (code: string) => void] {
  const { user } = useSession();
  const [params, setParams] = useSearchParams();
  const own = user?.facilities ?? [];
  const chosen = params.get('facility') ?? own[0] ?? 'VALLEYGEN';
  const set = (code: string) =>
    setParams((previous) => {
      previous.set('facility', code);
      return previous;
    });
  return [chosen, set];
}

export function FacilityPicker({ value, onChange }: { value: string; onChange: (code: string) => void }) {
  const { user } = useSession();
  const own = user?.facilities;
  if (own !== undefined && own.length <= 1) return null;
  if (own !== undefined)
    return <Select label="Facility" data={own} value={value} onChange={(v) => v && onChange(v)} w={200} />;
  return <TextInput label="Facility code" value={value} onChange={(e) => onChange(e.currentTarget.value)} w={200} />;
}
