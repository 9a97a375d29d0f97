// What the reader needs to know of the exam before the report: patient, procedure, priority, accession, and each
// study with its size and a link that opens it in the configured DICOMweb viewer (reports.viewerUrl).
import { Anchor, Badge, Group, Paper, SimpleGrid, Stack, Text } from '@mantine/core';
import { formatAge } from '../../ui/format.ts';
import type { ReadingView } from './types.ts';
import { priorityColor } from '../../ui/format.ts';

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" fw={500} component="div">
        {children}
      </Text>
    </div>
  );
}

export function ExamFacts({ view }: { view: ReadingView }) {
  return (
    <Paper withBorder p="md">
      <Stack gap="sm">
        <SimpleGrid cols={{ base: 2, md: 4 }} spacing="sm">
          <Fact label="Patient">
            {view.patientName || '(no name)'}
            {view.birthDate && ` · born ${view.birthDate}`}
          </Fact>
          <Fact label="Procedure">{view.procedure}</Fact>
          <Fact label="Priority">
            <Badge color={priorityColor[view.priority] ?? 'gray'} variant="filled">
              {view.priority.toUpperCase()}
            </Badge>
          </Fact>
          <Fact label="Facility · accession">
            {view.facility} · {view.accession ?? '–'}
          </Fact>
        </SimpleGrid>
        {view.studies.map((study) => (
          <Group key={study.studyInstanceUid} gap="sm" wrap="nowrap">
            {study.modality && <Badge variant="outline">{study.modality}</Badge>}
            <Text size="sm" c="dimmed" truncate>
              Study {study.studyInstanceUid} · {study.instanceCount ?? '?'} images
              {study.completedAt && ` · complete ${formatAge(study.completedAt)} ago`}
            </Text>
            {study.viewerUrl && (
              <Anchor href={study.viewerUrl} target="_blank" rel="noopener noreferrer" size="sm" fw={600}>
                Open in viewer
              </Anchor>
            )}
          </Group>
        ))}
      </Stack>
    </Paper>
  );
}
