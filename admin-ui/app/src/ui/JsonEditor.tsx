// A JSON document edited as text, with its problems listed under it at their place: a syntax error at its line,
// each of the hub's validation issues at its JSON path and line. Choosing a problem puts the cursor there.
import { Alert, Anchor, List, Stack, Text, Textarea } from '@mantine/core';
import { useEffect, useMemo, useRef } from 'react';
import type { ApiIssue } from '../api/client.ts';
import { lineAndColumn, positionOf, syntaxErrorLine } from './json-position.ts';

interface JsonEditorProps {
  label: string;
  value: string;
  onChange(value: string): void;
  /** The hub's answer to the last save. */
  issues: readonly ApiIssue[];
  readOnly?: boolean;
}

/** The parsed document, or why it is not JSON (with its line). */
export function parseJson(text: string): { value: unknown } | { error: string; line: number | undefined } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    const syntax = error instanceof SyntaxError ? error : new SyntaxError(String(error));
    return { error: syntax.message, line: syntaxErrorLine(text) };
  }
}

export function JsonEditor({ label, value, onChange, issues, readOnly = false }: JsonEditorProps) {
  const area = useRef<HTMLTextAreaElement>(null);
  const parsed = useMemo(() => parseJson(value), [value]);
  const located = useMemo(
    () => issues.map((issue) => ({ issue, at: issue.path === undefined ? undefined : positionOf(value, issue.path) })),
    [issues, value],
  );

  const goTo = (offset: number) => {
    const element = area.current;
    if (!element) return;
    element.focus();
    const end = value.indexOf('\n', offset);
    element.setSelectionRange(offset, end === -1 ? value.length : end);
  };
  // A refused save puts the cursor on the first problem's line, selected.
  const first = located.find((l) => l.at !== undefined)?.at?.offset;
  // biome-ignore lint/correctness/useExhaustiveDependencies: only a new answer from the hub moves the cursor
  useEffect(() => {
    if (first !== undefined) goTo(first);
  }, [issues]);
  const goToLine = (line: number) => {
    const lines = value.split('\n').slice(0, line - 1);
    goTo(lines.reduce((sum, l) => sum + l.length + 1, 0));
  };

  return (
    <Stack gap="xs">
      <Textarea
        ref={area}
        label={label}
        value={value}
        onChange={(e) => onChange(e.currentTarget.value)}
        readOnly={readOnly}
        autosize
        minRows={16}
        maxRows={24}
        spellCheck={false}
        styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 13 } }}
        aria-invalid={'error' in parsed || issues.length > 0}
        aria-describedby="json-problems"
      />
      <div id="json-problems" aria-live="polite">
        {'error' in parsed && (
          <Alert color="red" variant="light" title="Not valid JSON" role="alert">
            <Text size="sm">
              {parsed.line !== undefined && (
                <Anchor component="button" type="button" onClick={() => goToLine(parsed.line!)}>
                  Line {parsed.line}
                </Anchor>
              )}
              {parsed.line !== undefined && ': '}
              {parsed.error}
            </Text>
          </Alert>
        )}
        {issues.length > 0 && (
          <Alert color="red" variant="light" title="The hub refused this, at these places" role="alert">
            <List size="sm" spacing={4}>
              {located.map(({ issue, at }) => (
                <List.Item key={`${issue.path}:${issue.text}`} data-testid="validation-issue">
                  {at ? (
                    <Anchor component="button" type="button" onClick={() => goTo(at.offset)}>
                      Line {lineAndColumn(value, at.offset).line}
                    </Anchor>
                  ) : null}
                  {at ? ' · ' : null}
                  {issue.path !== undefined && <code>{issue.path}</code>}
                  {issue.path !== undefined && ': '}
                  {reasonOf(issue)}
                </List.Item>
              ))}
            </List>
          </Alert>
        )}
      </div>
    </Stack>
  );
}

/** The hub's text repeats the path in front ("a.b: reason"); shown beside the path, the reason alone reads better. */
function reasonOf(issue: ApiIssue): string {
  const prefix = issue.path === undefined ? undefined : `${issue.path}: `;
  return prefix !== undefined && issue.text.startsWith(prefix) ? issue.text.slice(prefix.length) : issue.text;
}
