// The hub's validation issues, placed at the form's fields. The hub names every issue by its JSON path
// (`aeTitles[0]`, `technicians[1].notify[0]`); a field shows the issues at its own path or below it (a
// notify list shows `notify[0]`). An issue at a path no field shows (a move destination's port) is listed above
// the form and in the JSON view, where every key is.
import { createContext, useContext } from 'react';
import type { ApiIssue } from '../../api/client.ts';

/** The paths the form has a control for; everything else is edited in the JSON view. */
const formPaths: readonly RegExp[] = [
  /^(code|name|active)$/,
  /^(aeTitles|sendingFacilities)\[\d+\]$/,
  /^radiologistPacs\.(aeTitle|host|port)$/,
  /^reportDestinations\.(ehrFhirBaseUrl|fax|email)$/,
  /^reportDestinations\.ehrMllp\.(host|port|version)$/,
  /^(technicians|radiologists)\[\d+\]\.(id|name|email|phone|fax|notify)(\[\d+\])?$/,
  /^billingRules\[\d+\]\.(procedureCode|modality|priority|amount|currency)$/,
];

/** The form field an issue belongs to (`notify[0]` belongs to its `notify`), or undefined when there is none. */
export function fieldOf(issue: ApiIssue): string | undefined {
  const { path } = issue;
  if (path === undefined || !formPaths.some((pattern) => pattern.test(path))) return undefined;
  return path.replace(/(\.notify)\[\d+\]$/, '$1');
}

/** The hub's text repeats the path in front ("a.b: reason"); shown at the field, the reason alone reads better. */
export function reasonOf(issue: ApiIssue): string {
  const prefix = issue.path === undefined ? undefined : `${issue.path}: `;
  return prefix !== undefined && issue.text.startsWith(prefix) ? issue.text.slice(prefix.length) : issue.text;
}

export interface PlacedIssues {
  /** The reasons at this field, joined, or undefined. */
  at(path: string): string | undefined;
  /** Issues no field of the form shows. */
  elsewhere: readonly ApiIssue[];
  /** The field of the first issue the form shows, to put the cursor on. */
  first: string | undefined;
}

export function placeIssues(issues: readonly ApiIssue[]): PlacedIssues {
  const byField = new Map<string, string[]>();
  const elsewhere: ApiIssue[] = [];
  for (const issue of issues) {
    const field = fieldOf(issue);
    if (field === undefined) elsewhere.push(issue);
    else byField.set(field, [...(byField.get(field) ?? []), reasonOf(issue)]);
  }
  return {
    at: (path) => byField.get(path)?.join('; '),
    elsewhere,
    first: byField.keys().next().value,
  };
}

export const IssuesContext = createContext<PlacedIssues>(placeIssues([]));

export function useIssueAt(path: string): string | undefined {
  return useContext(IssuesContext).at(path);
}
