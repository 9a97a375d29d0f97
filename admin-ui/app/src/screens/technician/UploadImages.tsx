// Images from the browser: DICOM files or a whole folder, each sent as its own STOW-RS request
// (POST /dicomweb/studies, application/dicom) so that each file gets its own result and the bar moves per file.
// The hub ingests them like a C-STORE from the facility: matching by the exam number in PatientID and the
// facility's coercions apply there, not here.
import { Alert, Badge, Button, Group, Progress, ScrollArea, Stack, Table, Text } from '@mantine/core';
import { useRef, useState } from 'react';
import { csrfHeaders } from '../../api/client.ts';

interface FileResult {
  /** Two files of one folder upload may share a name: the position in the choice tells them apart. */
  key: string;
  name: string;
  state: 'waiting' | 'stored' | 'failed';
  detail?: string;
}

async function sendOne(file: File, facility: string): Promise<Omit<FileResult, 'key'>> {
  try {
    const response = await fetch(`/dicomweb/studies?facility=${encodeURIComponent(facility)}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/dicom', accept: 'application/dicom+json', ...csrfHeaders() },
      body: file,
    });
    if (response.status === 200) return { name: file.name, state: 'stored' };
    const warning = response.headers.get('warning')?.replace(/^299 \S+ "?|"$/g, '');
    let detail = warning ?? `the hub answered ${response.status}`;
    if (!warning && response.headers.get('content-type')?.includes('json')) {
      const body = (await response.json().catch(() => ({}))) as { detail?: string };
      if (typeof body.detail === 'string') detail = body.detail;
    }
    return { name: file.name, state: 'failed', detail };
  } catch {
    return { name: file.name, state: 'failed', detail: 'the hub cannot be reached' };
  }
}

interface Props {
  facility: string;
  examNumber: string;
  /** Called once every chosen file has its answer (the list then shows the exam's new state). */
  onFinished?: () => void;
}

export function UploadImages({ facility, examNumber, onFinished }: Props) {
  const [results, setResults] = useState<FileResult[]>([]);
  const [running, setRunning] = useState(false);
  const files = useRef<HTMLInputElement>(null);
  const folder = useRef<HTMLInputElement>(null);
  const done = results.filter((r) => r.state !== 'waiting').length;
  const failed = results.filter((r) => r.state === 'failed').length;

  const upload = async (list: FileList | null) => {
    const chosen = [...(list ?? [])].filter((f) => !f.name.startsWith('.'));
    if (chosen.length === 0) return;
    setRunning(true);
    const shown: FileResult[] = chosen.map((f, i) => ({
      key: `${i}:${f.name}`,
      name: f.webkitRelativePath || f.name,
      state: 'waiting',
    }));
    setResults([...shown]);
    for (const [i, file] of chosen.entries()) {
      const result = await sendOne(file, facility);
      shown[i] = { ...result, key: shown[i]?.key ?? String(i), name: shown[i]?.name ?? result.name };
      setResults([...shown]);
    }
    setRunning(false);
    onFinished?.();
  };

  return (
    <Stack gap="xs" data-testid="upload">
      <Text size="sm">
        Put <strong>{examNumber}</strong> in the images' PatientID so the hub files them under this exam.
      </Text>
      <Group>
        <input
          ref={files}
          type="file"
          multiple
          hidden
          aria-label="DICOM files"
          onChange={(e) => void upload(e.currentTarget.files)}
        />
        <input
          ref={folder}
          type="file"
          hidden
          aria-label="DICOM folder"
          {...{ webkitdirectory: '' }}
          onChange={(e) => void upload(e.currentTarget.files)}
        />
        <Button size="xs" disabled={running} onClick={() => files.current?.click()}>
          Choose files
        </Button>
        <Button size="xs" variant="default" disabled={running} onClick={() => folder.current?.click()}>
          Choose a folder
        </Button>
      </Group>
      {results.length > 0 && (
        <>
          <Progress
            value={(done / results.length) * 100}
            color={failed > 0 ? 'orange' : 'teal'}
            aria-label="Upload progress"
            animated={running}
          />
          <Text size="sm" data-testid="upload-summary">
            {done} of {results.length} files sent{failed > 0 ? `, ${failed} refused` : ''}
            {!running && failed === 0 ? ': all stored' : ''}
          </Text>
          {!running && failed > 0 && (
            <Alert color="orange" variant="light">
              Refused files were not kept; the reason is beside each.
            </Alert>
          )}
          <ScrollArea.Autosize mah={220}>
            <Table>
              <Table.Tbody>
                {results.map((r) => (
                  <Table.Tr key={r.key} data-testid="upload-file">
                    <Table.Td>{r.name}</Table.Td>
                    <Table.Td>
                      <Badge
                        color={r.state === 'stored' ? 'teal' : r.state === 'failed' ? 'red' : 'gray'}
                        variant="light"
                      >
                        {r.state}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Text size="xs" c="dimmed">
                        {r.detail}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea.Autosize>
        </>
      )}
    </Stack>
  );
}
