// The viewer as a consultant link opens it (/consult/<token>/viewer/<study>): no account and no session, so it
// stands outside the console's layout and sign-in; the link's token in the address is the permission, and the
// images are read through the link's own DICOMweb root, which the hub limits to the exam's studies and audits.
import { Box, Text } from '@mantine/core';
import { Route, Routes, useParams } from 'react-router';
import { StudyViewerScreen } from './StudyViewer.tsx';

export function ConsultantViewer() {
  const token = useParams()['token'] ?? '';
  return (
    <Box>
      <Box bg="blue.7" c="white" px="lg" py="xs">
        <Text fw={600}>RSO hub · consultant view (read-only)</Text>
      </Box>
      <Box p="md">
        <StudyViewerScreen dicomweb={`/consult/${encodeURIComponent(token)}/dicomweb`} />
      </Box>
    </Box>
  );
}

/** The whole app at a consultant link's addresses: no session is asked for, so none is needed. */
export function ConsultantApp() {
  return (
    <Routes>
      <Route path="/consult/:token/viewer/:study" element={<ConsultantViewer />} />
    </Routes>
  );
}
