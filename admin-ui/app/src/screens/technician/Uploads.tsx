// What arrived as files, one row per file: SFTP and FTPS uploads and the DICOM files file-drop channels read
// (GET /api/uploads, the upload log), with what the hub did with each: stored, partly stored or refused and why.
// A technician answering "did my study arrive?" sees their facilities' files; the RSO's admins see every one.
import { Badge, Group, SegmentedControl, Stack, Table, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { get } from '../../api/client.ts';
import { formatDateTime } from '../../ui/format.ts';
import { Loadable } from '../../ui/states.tsx';
import { useLoad } from '../../ui/use-load.ts';

interface UploadRow {
  _id: string;
  at: string;
  user: string;
  facility: string;
  protocol: string;
  fileName: string;
  sizeBytes: number;
  outcome: 'stored' | 'partly-stored' | 'refused';
  stored: number;
  refused: number;
  reason?: string;
}

const outcomeColor: Record<UploadRow['outcome'], string> = {
  stored: 'green',
  'partly-stored': 'orange',
  refused: 'red',
};

function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function UploadsScreen() {
  const [outcome, setOutcome] = useState('all');
  const loaded = useLoad(
    () =>
      get<{ uploads: UploadRow[] }>(`/api/uploads?limit=200${outcome === 'all' ? '' : `&outcome=${outcome}`}`).then(
        (r) => r.uploads,
      ),
    [outcome],
    10_000,
  );
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Uploads</Title>
        <SegmentedControl
          aria-label="Outcome"
          value={outcome}
          onChange={setOutcome}
          data={[
            { value: 'all', label: 'All' },
            { value: 'stored', label: 'Stored' },
            { value: 'refused', label: 'Refused' },
          ]}
        />
      </Group>
      <Loadable loaded={loaded} isEmpty={(rows) => rows.length === 0} empty="No file has arrived yet.">
        {(rows) => (
          <Table striped aria-label="Uploaded files">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Received</Table.Th>
                <Table.Th>File</Table.Th>
                <Table.Th>From</Table.Th>
                <Table.Th>Facility</Table.Th>
                <Table.Th>Result</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((row) => (
                <Table.Tr key={row._id} data-testid={`upload-${row.fileName}`}>
                  <Table.Td>{formatDateTime(row.at)}</Table.Td>
                  <Table.Td>
                    <Text size="sm">{row.fileName}</Text>
                    <Text size="xs" c="dimmed">
                      {sizeText(row.sizeBytes)}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{row.user}</Text>
                    <Text size="xs" c="dimmed">
                      {row.protocol}
                    </Text>
                  </Table.Td>
                  <Table.Td>{row.facility}</Table.Td>
                  <Table.Td>
                    <Badge color={outcomeColor[row.outcome]} variant="light">
                      {row.outcome}
                    </Badge>
                    <Text size="xs">
                      {row.stored} stored{row.refused > 0 ? `, ${row.refused} refused` : ''}
                    </Text>
                    {row.reason !== undefined && (
                      <Text size="xs" c="red">
                        {row.reason}
                      </Text>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Loadable>
    </Stack>
  );
}
