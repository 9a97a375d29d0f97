// A facility user's page for sharing one exam with a consultant (linked from the exam lists as
// /exams/<number>/share): the exam number and the links panel.
import { Stack, Text, Title } from '@mantine/core';
import { useParams } from 'react-router';
import { ConsultantLinks } from './ConsultantLinks.tsx';

export function ShareExamScreen() {
  const examNumber = useParams()['examNumber'] ?? '';
  return (
    <Stack>
      <Title order={2}>Share exam {examNumber} with a consultant</Title>
      <Text size="sm" c="dimmed">
        The link opens a read-only page with the report, its PDF and the list of images, without an account, until it
        expires or is revoked. Every use is recorded.
      </Text>
      <ConsultantLinks examNumber={examNumber} />
    </Stack>
  );
}
