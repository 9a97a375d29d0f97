// One facility, created or edited: the common settings as a form, the whole facility as JSON (for the keys the
// form does not show). Both edit the same draft. The hub's parseFacility, the same as for the seed files, decides
// what is valid; a refused save shows each issue at its field in the form (and at its line in the JSON view),
// with the cursor put on the first one.
import { Alert, Anchor, Button, Group, List, Stack, Tabs, Text, Title } from '@mantine/core';
import { useEffect, useMemo, useState } from 'react';
import { ApiError, type ApiIssue, post, put } from '../../api/client.ts';
import { JsonEditor, parseJson } from '../../ui/JsonEditor.tsx';
import { ErrorNote } from '../../ui/states.tsx';
import { type Draft, isRecord, type Key, withValue, withoutItem } from './draft.ts';
import { FacilityForm } from './FacilityForm.tsx';
import { FacilityFormContext, type FacilityFormValue } from './form-context.ts';
import { IssuesContext, placeIssues, reasonOf } from './issues.ts';

type View = 'form' | 'json';

interface FacilityEditorProps {
  /** Absent: a new facility. */
  code?: string;
  initial: Draft;
  writable: boolean;
  onDone(): void;
}

export function FacilityEditor({ code, initial, writable, onDone }: FacilityEditorProps) {
  const [draft, setDraft] = useState<Draft>(initial);
  const [view, setView] = useState<View>('form');
  const [text, setText] = useState('');
  const [issues, setIssues] = useState<readonly ApiIssue[]>([]);
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const placed = useMemo(() => placeIssues(issues), [issues]);
  const isNew = code === undefined;

  const form = useMemo<FacilityFormValue>(
    () => ({
      draft,
      readOnly: !writable,
      set: (path: readonly Key[], value: unknown) => setDraft((d) => withValue(d, path, value) as Draft),
      removeItem: (path: readonly Key[], index: number) => setDraft((d) => withoutItem(d, path, index) as Draft),
    }),
    [draft, writable],
  );

  /** The JSON view's text as a facility, or undefined (the view shows why) when it is not a JSON object. */
  const fromText = (): Draft | undefined => {
    const parsed = parseJson(text);
    return 'value' in parsed && isRecord(parsed.value) ? parsed.value : undefined;
  };

  const show = (next: View) => {
    if (next === view) return;
    if (next === 'json') setText(JSON.stringify(draft, null, 2));
    else {
      const parsed = fromText();
      if (!parsed) return;
      setDraft(parsed);
    }
    setView(next);
  };

  const save = async () => {
    const facility = view === 'json' ? fromText() : draft;
    if (!facility) return;
    setBusy(true);
    setFailure(undefined);
    try {
      if (isNew) await post('/api/facilities', facility);
      else await put(`/api/facilities/${encodeURIComponent(code)}`, facility);
      setIssues([]);
      onDone();
    } catch (error) {
      if (error instanceof ApiError && (error.status === 400 || error.status === 409)) setIssues(error.issues);
      else setFailure(error);
    } finally {
      setBusy(false);
    }
  };

  // A refused save puts the cursor on the first field the hub named, so a keyboard user is already there.
  useEffect(() => {
    if (view !== 'form' || placed.first === undefined) return;
    const field = document.querySelector<HTMLElement>(`[data-path="${CSS.escape(placed.first)}"]`);
    field?.focus();
    field?.scrollIntoView({ block: 'center' });
  }, [placed, view]);

  const title = isNew ? 'New facility' : `Facility ${code}`;
  return (
    <Stack gap="md">
      <Group justify="space-between">
        <Title order={3}>{title}</Title>
        {!writable && <Text c="dimmed">Read only</Text>}
      </Group>
      {failure !== undefined && <ErrorNote error={failure} title="Could not save" />}
      {issues.length > 0 && view === 'form' && (
        <Alert color="red" variant="light" role="alert" title="The hub refused this facility">
          <Text size="sm">
            {issues.length === placed.elsewhere.length
              ? 'See below.'
              : 'The problem is shown at its field; fix it and save again.'}
          </Text>
          {placed.elsewhere.length > 0 && (
            <List size="sm" mt={4}>
              {placed.elsewhere.map((issue) => (
                <List.Item key={`${issue.path}:${issue.text}`} data-testid="issue-elsewhere">
                  {issue.path !== undefined && <code>{issue.path}</code>}
                  {issue.path !== undefined && ': '}
                  {reasonOf(issue)}{' '}
                  <Anchor component="button" type="button" size="sm" onClick={() => show('json')}>
                    Show in the JSON view
                  </Anchor>
                </List.Item>
              ))}
            </List>
          )}
        </Alert>
      )}
      <Tabs value={view} onChange={(next) => next && show(next as View)} keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="form">Form</Tabs.Tab>
          <Tabs.Tab value="json">JSON (every setting)</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="form" pt="md">
          <FacilityFormContext.Provider value={form}>
            <IssuesContext.Provider value={placed}>
              <FacilityForm isNew={isNew} />
            </IssuesContext.Provider>
          </FacilityFormContext.Provider>
        </Tabs.Panel>
        <Tabs.Panel value="json" pt="md">
          <JsonEditor label="Facility (JSON)" value={text} onChange={setText} issues={issues} readOnly={!writable} />
        </Tabs.Panel>
      </Tabs>
      <Group>
        {writable && (
          <Button onClick={save} loading={busy}>
            {isNew ? 'Create facility' : 'Save facility'}
          </Button>
        )}
        <Button variant="default" onClick={onDone}>
          {writable ? 'Cancel' : 'Back to the list'}
        </Button>
      </Group>
    </Stack>
  );
}
