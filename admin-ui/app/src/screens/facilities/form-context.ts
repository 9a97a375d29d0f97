// What every control of the facility form shares: the draft, how to change it at a path, and whether the user
// may change it at all (a read-only user gets the same form with nothing to edit and no buttons).
import { createContext, useContext } from 'react';
import type { Draft, Key } from './draft.ts';

export interface FacilityFormValue {
  draft: Draft;
  set(path: readonly Key[], value: unknown): void;
  removeItem(path: readonly Key[], index: number): void;
  readOnly: boolean;
}

export const FacilityFormContext = createContext<FacilityFormValue | undefined>(undefined);

export function useFacilityForm(): FacilityFormValue {
  const value = useContext(FacilityFormContext);
  if (!value) throw new Error('a facility field is used outside the facility form');
  return value;
}
