// The report's files: the document the facility receives (the signed PDF, or a scan uploaded instead), earlier
// renders, and an upload of a scanned report (PDF, TIFF, JPEG) while the report is not signed.
import { Anchor, Button, FileInput, Group, Stack, Text } from '@mantine/core';
import { useState } from 'react';
import { ErrorNote } from '../../ui/states.tsx';
import { documentUrl, uploadScan } from './report-actions.ts';
import type { Report } from './types.ts';

interface Props {
  examNumber: string;
  report: Report | undefined;
  onChanged(notice: string): void;
}

export function ReportFiles({ examNumber, report, onChanged }: Props) {
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>();
  const open = report === undefined || report.state === 'draft' || report.state === 'preliminary';

  const upload = async () => {
    if (!file) return;
    setBusy(true);
    setFailure(undefined);
    try {
      await uploadScan(examNumber, report, file);
      setFile(null);
      onChanged(`${file.name} is the report's document now.`);
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Stack gap="xs">
      {report?.documentId ? (
        <Anchor href={documentUrl(report)} target="_blank" fw={600} data-testid="report-document">
          Open the report document ({report.attachments.find((a) => a.id === report.documentId)?.title ?? 'PDF'})
        </Anchor>
      ) : (
        <Text size="sm" c="dimmed">
          No document yet: signing renders the PDF, or upload a scanned report.
        </Text>
      )}
      {open && (
        <Group align="flex-end" gap="sm">
          <FileInput
            label="Scanned report (PDF, TIFF or JPEG)"
            accept="application/pdf,image/tiff,image/jpeg"
            value={file}
            onChange={setFile}
            clearable
            w={340}
          />
          <Button variant="default" disabled={!file} loading={busy} onClick={upload}>
            Upload scan
          </Button>
        </Group>
      )}
      {failure !== undefined && <ErrorNote error={failure} title="Upload refused" />}
    </Stack>
  );
}
