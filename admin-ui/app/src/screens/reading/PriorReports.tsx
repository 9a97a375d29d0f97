// The patient's earlier signed reports, newest first, for comparison while reading: each with its procedure,
// date, author and impression, the findings folded away, and its document.
import { Accordion, Anchor, Badge, Group, Stack, Text } from '@mantine/core';
import { formatDateTime } from '../../ui/format.ts';
import { documentUrl } from './report-actions.ts';
import { type PriorReport, reportColor } from './types.ts';

export function PriorReports({ priors }: { priors: PriorReport[] }) {
  if (priors.length === 0)
    return (
      <Text size="sm" c="dimmed">
        No earlier reports of this patient.
      </Text>
    );
  return (
    <Accordion variant="separated" data-testid="prior-reports">
      {priors.map((prior) => (
        <Accordion.Item key={prior._id} value={prior._id}>
          <Accordion.Control>
            <Group gap="xs">
              <Badge color={reportColor[prior.state] ?? 'gray'} variant="light">
                {prior.state}
              </Badge>
              <Text size="sm" fw={500}>
                {prior.procedure}
              </Text>
              <Text size="sm" c="dimmed">
                {formatDateTime(prior.signedAt)} · {prior.examNumber}
              </Text>
            </Group>
          </Accordion.Control>
          <Accordion.Panel>
            <Stack gap={4}>
              <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
                <b>Findings:</b> {prior.findings ?? '–'}
              </Text>
              <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
                <b>Impression:</b> {prior.impression ?? '–'}
              </Text>
              <Text size="xs" c="dimmed">
                Signed by {prior.author?.name ?? prior.author?.id ?? '–'}
              </Text>
              {prior.documentId && (
                <Anchor href={documentUrl(prior)} target="_blank" size="sm">
                  Open its document
                </Anchor>
              )}
            </Stack>
          </Accordion.Panel>
        </Accordion.Item>
      ))}
    </Accordion>
  );
}
