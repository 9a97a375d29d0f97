// The report form: findings and impression, a template for the exam's modality to start from, and the steps the
// role may take. A radiologist saves a draft, signs it final, marks the exam for dictation, and amends a signed
// report (with the reason); a transcriber saves and hands the draft to the radiologist. A signed report is
// shown as signed, not as an editable form, until "Amend" is chosen.
import { Alert, Badge, Button, Group, Select, Stack, Text, Textarea, TextInput } from '@mantine/core';
import { useEffect, useState } from 'react';
import { ErrorNote } from '../../ui/states.tsx';
import { formatDateTime } from '../../ui/format.ts';
import { amend, handOver, markDictated, saveDraft, signFinal, type Text as ReportText } from './report-actions.ts';
import { currentReport, type ReadingView, reportColor } from './types.ts';

export type Mode = 'radiologist' | 'transcriber';

interface Props {
  view: ReadingView;
  mode: Mode;
  onChanged(notice: string): void;
  onHandedOver(): void;
}

export function ReportForm({ view, mode, onChanged, onHandedOver }: Props) {
  const report = currentReport(view.reports);
  const signed = report?.state === 'final' || report?.state === 'amended';
  const [text, setText] = useState<ReportText>({ findings: '', impression: '' });
  const [amending, setAmending] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState<string>();
  const [failure, setFailure] = useState<unknown>();

  // The stored text again whenever the hub answers a new version (after a save, a sign, another user's edit).
  // biome-ignore lint/correctness/useExhaustiveDependencies: the report's id and version say when it changed
  useEffect(() => {
    setText({ findings: report?.findings ?? '', impression: report?.impression ?? '' });
    setAmending(false);
    setReason('');
  }, [report?._id, report?.version]);

  const run = async (label: string, step: () => Promise<unknown>, notice: string) => {
    setBusy(label);
    setFailure(undefined);
    try {
      await step();
      onChanged(notice);
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(undefined);
    }
  };

  const exam = view.examNumber;
  const editable = !signed || amending;
  const template = (name: string | null) => {
    const chosen = view.templates.find((t) => t.name === name);
    if (chosen) setText({ findings: chosen.findings ?? '', impression: chosen.impression ?? '' });
  };

  return (
    <Stack gap="sm">
      <Group gap="xs">
        <Text fw={600}>Report</Text>
        {report ? (
          <Badge color={reportColor[report.state] ?? 'gray'} variant="light" data-testid="report-state">
            {report.state}
          </Badge>
        ) : (
          <Badge color="gray" variant="outline" data-testid="report-state">
            not started
          </Badge>
        )}
        {view.dictation?.state === 'transcribed' && (
          <Badge color="blue">transcribed by {view.dictation.transcriber}</Badge>
        )}
        {view.dictation?.state === 'waiting' && (
          <Badge color="blue" variant="outline">
            dictated by {view.dictation.radiologist}, waiting for transcription
          </Badge>
        )}
        {signed && report?.signedAt && (
          <Text size="sm" c="dimmed">
            signed by {report.author?.name ?? report.author?.id} · {formatDateTime(report.signedAt)}
          </Text>
        )}
      </Group>
      {failure !== undefined && <ErrorNote error={failure} title="Not done" />}
      {editable && view.templates.length > 0 && (
        <Select
          label="Start from a template"
          placeholder={`Templates for ${view.modality ?? 'this exam'}`}
          data={view.templates.map((t) => t.name)}
          onChange={template}
          clearable
          w={360}
        />
      )}
      <Textarea
        label="Findings"
        autosize
        minRows={6}
        readOnly={!editable}
        variant={editable ? 'default' : 'filled'}
        value={text.findings}
        onChange={(e) => setText({ ...text, findings: e.currentTarget.value })}
      />
      <Textarea
        label="Impression"
        autosize
        minRows={3}
        readOnly={!editable}
        variant={editable ? 'default' : 'filled'}
        value={text.impression}
        onChange={(e) => setText({ ...text, impression: e.currentTarget.value })}
      />
      {signed && report?.reason && (
        <Alert color="grape" variant="light" title="Amended">
          {report.reason}
        </Alert>
      )}
      {amending && (
        <TextInput
          label="Reason for the amendment"
          required
          value={reason}
          onChange={(e) => setReason(e.currentTarget.value)}
        />
      )}
      <Group gap="sm">
        {mode === 'radiologist' && !signed && (
          <>
            <Button
              variant="default"
              loading={busy === 'save'}
              onClick={() => run('save', () => saveDraft(exam, report, text), 'Draft saved.')}
            >
              Save draft
            </Button>
            <Button
              loading={busy === 'sign'}
              onClick={() => run('sign', () => signFinal(exam, report, text), 'Signed final. The PDF is ready.')}
            >
              Sign final
            </Button>
            {!view.dictation && (
              <Button
                variant="light"
                loading={busy === 'dictate'}
                onClick={() =>
                  run('dictate', () => markDictated(exam), 'Marked for dictation: the transcribers have it now.')
                }
              >
                Mark for dictation
              </Button>
            )}
          </>
        )}
        {mode === 'radiologist' && signed && !amending && (
          <Button variant="default" onClick={() => setAmending(true)}>
            Amend
          </Button>
        )}
        {mode === 'radiologist' && amending && report && (
          <>
            <Button
              color="grape"
              loading={busy === 'amend'}
              disabled={reason.trim() === ''}
              onClick={() => run('amend', () => amend(report, text, reason), 'Amendment signed. The PDF is ready.')}
            >
              Sign amendment
            </Button>
            <Button variant="subtle" onClick={() => setAmending(false)}>
              Cancel
            </Button>
          </>
        )}
        {mode === 'transcriber' && !signed && (
          <>
            <Button
              variant="default"
              loading={busy === 'save'}
              onClick={() => run('save', () => saveDraft(exam, report, text), 'Draft saved.')}
            >
              Save draft
            </Button>
            <Button
              loading={busy === 'hand'}
              disabled={view.dictation?.state !== 'waiting'}
              onClick={async () => {
                setBusy('hand');
                setFailure(undefined);
                try {
                  await handOver(exam, report, text);
                  onHandedOver();
                } catch (error) {
                  setFailure(error);
                  setBusy(undefined);
                }
              }}
            >
              Hand to radiologist for signature
            </Button>
          </>
        )}
      </Group>
    </Stack>
  );
}
