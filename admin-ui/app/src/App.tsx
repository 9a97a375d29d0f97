// The screens and their addresses. Until the session is known nothing renders but a loader; signed out, every
// address shows sign-in (and returns to the same address after); a user who must change the password first
// sees only that. A user limited to facilities has no dashboard (the engine's figures are the hub's, not the
// facility's) and starts at the messages.
import { Navigate, Route, Routes } from 'react-router';
import { Layout } from './Layout.tsx';
import { AuditScreen } from './screens/Audit.tsx';
import { ChannelEditor } from './screens/ChannelEditor.tsx';
import { ChannelsScreen } from './screens/Channels.tsx';
import { ChangePassword } from './screens/ChangePassword.tsx';
import { Dashboard } from './screens/Dashboard.tsx';
import { FacilitiesScreen } from './screens/Facilities.tsx';
import { MessageDetailScreen } from './screens/MessageDetail.tsx';
import { MessagesScreen } from './screens/Messages.tsx';
import { NewChannel } from './screens/NewChannel.tsx';
import { QueuesScreen } from './screens/Queues.tsx';
import { HomeFor, readingRoutes } from './screens/reading/routes.tsx';
import { SignIn } from './screens/SignIn.tsx';
import { UsersScreen } from './screens/Users.tsx';
import { StudyViewerScreen } from './screens/viewer/StudyViewer.tsx';
import { WorkScreen, workHome, workScreens } from './screens/work-areas.tsx';
import { useSession } from './session.tsx';
import { Loading } from './ui/states.tsx';

export function App() {
  const { state, user } = useSession();
  if (state === 'checking') return <Loading label="Opening the console" />;
  if (state === 'signed-out' || !user) return <SignIn />;
  if (user.mustChangePassword) return <ChangePassword forced />;
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route
          index
          element={
            workHome(user) ?? (
              <HomeFor
                otherwise={user.facilities === undefined ? <Dashboard /> : <Navigate to="/messages" replace />}
              />
            )
          }
        />
        {workScreens.map((screen, i) => (
          <Route key={screen.path} path={screen.path} element={<WorkScreen user={user} index={i} />} />
        ))}
        <Route path="channels" element={<ChannelsScreen />} />
        <Route path="channels/new" element={<NewChannel />} />
        <Route path="channels/:id" element={<ChannelEditor />} />
        <Route path="messages" element={<MessagesScreen />} />
        <Route path="messages/:id" element={<MessageDetailScreen />} />
        <Route path="queues" element={<QueuesScreen />} />
        <Route path="facilities" element={<FacilitiesScreen />} />
        <Route path="users" element={<UsersScreen />} />
        <Route path="audit" element={<AuditScreen />} />
        <Route path="password" element={<ChangePassword />} />
        <Route path="viewer/:study" element={<StudyViewerScreen />} />
        {readingRoutes}
        <Route path="*" element={<Navigate to="/" replace />} />
      </Route>
    </Routes>
  );
}
