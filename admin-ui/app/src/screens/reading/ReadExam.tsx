// One exam to read (radiologist, /reading/<exam>) or to type (transcriber, /transcription/<exam>): the exam's facts
// and viewer link, the report form, its files, the patient's prior reports and, for the radiologist, consultant
// links. After each step the exam is loaded again, so what shows is what the hub stored.
import { Alert, Anchor, Grid, Paper, Stack, Title } from '@mantine/core';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { get } from '../../api/client.ts';
import { Loadable } from '../../ui/states.tsx';
import { useLoad } from '../../ui/use-load.ts';
import { ConsultantLinks } from '../consultant/ConsultantLinks.tsx';
import { ExamFacts } from './ExamFacts.tsx';
import { PriorReports } from './PriorReports.tsx';
import { type Mode, ReportForm } from './ReportForm.tsx';
import { ReportFiles } from './ReportFiles.tsx';
import { currentReport, type ReadingView } from './types.ts';

export function ReadExamScreen({ mode }: { mode: Mode }) {
  const examNumber = useParams()['examNumber'] ?? '';
  const navigate = useNavigate();
  const view = useLoad(() => get<ReadingView>(`/api/reading/exams/${encodeURIComponent(examNumber)}`), [examNumber]);
  const [notice, setNotice] = useState<string>();
  const back = mode === 'radiologist' ? '/reading' : '/transcription';

  const changed = (text: string) => {
    setNotice(text);
    view.reload();
  };

  return (
    <Stack>
      <Anchor component={Link} to={back} size="sm">
        ← {mode === 'radiologist' ? 'Reading list' : 'Transcription queue'}
      </Anchor>
      <Title order={2}>Exam {examNumber}</Title>
      <Loadable loaded={view}>
        {(data) => (
          <Stack>
            <ExamFacts view={data} />
            {notice && (
              <Alert color="teal" variant="light" role="status" withCloseButton onClose={() => setNotice(undefined)}>
                {notice}
              </Alert>
            )}
            <Grid gap="md">
              <Grid.Col span={{ base: 12, lg: 8 }}>
                <Paper withBorder p="md">
                  <Stack>
                    <ReportForm
                      view={data}
                      mode={mode}
                      onChanged={changed}
                      onHandedOver={() => navigate('/transcription', { state: { handedOver: examNumber } })}
                    />
                    <ReportFiles examNumber={examNumber} report={currentReport(data.reports)} onChanged={changed} />
                  </Stack>
                </Paper>
              </Grid.Col>
              <Grid.Col span={{ base: 12, lg: 4 }}>
                <Stack>
                  <Title order={3} size="h5">
                    Prior reports
                  </Title>
                  <PriorReports priors={data.priors} />
                  {mode === 'radiologist' && (
                    <>
                      <Title order={3} size="h5">
                        Consultant links
                      </Title>
                      <ConsultantLinks examNumber={examNumber} />
                    </>
                  )}
                </Stack>
              </Grid.Col>
            </Grid>
          </Stack>
        )}
      </Loadable>
    </Stack>
  );
}
