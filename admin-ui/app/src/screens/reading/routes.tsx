// The addresses of the reading screens (radiologist, transcriber, sharing with a consultant), mounted inside the
// app's frame by App.tsx, and the first screen of a user who only reads.
import type { ReactNode } from 'react';
import { Navigate, Route } from 'react-router';
import { useSession } from '../../session.tsx';
import { ShareExamScreen } from '../consultant/ShareExam.tsx';
import { readingHome } from './nav.ts';
import { ReadExamScreen } from './ReadExam.tsx';
import { ReadingListScreen } from './ReadingList.tsx';
import { TranscriptionQueueScreen } from './TranscriptionQueue.tsx';

export const readingRoutes = (
  <>
    <Route path="reading" element={<ReadingListScreen />} />
    <Route path="reading/:examNumber" element={<ReadExamScreen mode="radiologist" />} />
    <Route path="transcription" element={<TranscriptionQueueScreen />} />
    <Route path="transcription/:examNumber" element={<ReadExamScreen mode="transcriber" />} />
    <Route path="exams/:examNumber/share" element={<ShareExamScreen />} />
  </>
);

/** A radiologist or transcriber starts on their own list; everyone else on `otherwise`. */
export function HomeFor({ otherwise }: { otherwise: ReactNode }) {
  const { user } = useSession();
  const home = readingHome(user);
  return home ? <Navigate to={home} replace /> : otherwise;
}
