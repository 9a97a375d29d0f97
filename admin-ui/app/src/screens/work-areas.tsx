// The RSO work areas by role (issue 15): which sections a user sees in the navigation, which screen is their home,
// and a guard that shows "not allowed" on an address of another role's area. The hub refuses the same requests
// with 403; this only keeps the screens honest about it.
import type { ReactNode } from 'react';
import type { Role, SessionUser } from '../api/types.ts';
import { ErrorNote } from '../ui/states.tsx';
import { ApiError } from '../api/client.ts';
import { BillingScreen } from './billing/Billing.tsx';
import { ActiveExamsScreen, CompletedExamsScreen } from './facility/FacilityLists.tsx';
import { RegisterExamScreen } from './facility/RegisterExam.tsx';
import { ExceptionsScreen } from './technician/Exceptions.tsx';
import { TechnicianWorkScreen } from './technician/TechnicianWork.tsx';
import { UploadsScreen } from './technician/Uploads.tsx';

type Area = 'facility' | 'technician' | 'billing';

const areaRoles: Record<Area, readonly Role[]> = {
  facility: ['admin', 'client-admin', 'customer'],
  technician: ['admin', 'client-admin', 'technician'],
  billing: ['admin', 'client-admin'],
};

/** Roles whose people work in the RSO process only and have no use for the engine's administration. */
const workOnly: readonly Role[] = ['customer', 'technician', 'radiologist', 'transcriber', 'consultant'];

export function mayWork(user: SessionUser | undefined, area: Area): boolean {
  return user?.roles.some((role) => areaRoles[area].includes(role)) ?? false;
}

export function isWorkOnly(user: SessionUser | undefined): boolean {
  return user?.roles.every((role) => workOnly.includes(role)) ?? false;
}

export function workSections(user: SessionUser | undefined): Array<{ to: string; label: string }> {
  const sections: Array<{ to: string; label: string; area: Area }> = [
    { to: '/work/active', label: 'Active exams', area: 'facility' },
    { to: '/work/completed', label: 'Completed exams', area: 'facility' },
    { to: '/work/register', label: 'Register an exam', area: 'facility' },
    { to: '/work/technician', label: 'My work', area: 'technician' },
    { to: '/work/exceptions', label: 'Exception list', area: 'technician' },
    { to: '/work/uploads', label: 'Uploads', area: 'technician' },
    { to: '/work/billing', label: 'Billing', area: 'billing' },
  ];
  return sections.filter((s) => mayWork(user, s.area));
}

function Guard({ user, area, children }: { user: SessionUser | undefined; area: Area; children: ReactNode }) {
  if (mayWork(user, area)) return children;
  const refusal = new ApiError(403, 'This screen belongs to another role: your sign-in may not use it.', {});
  return <ErrorNote error={refusal} />;
}

export const workScreens: Array<{ path: string; area: Area; element: () => ReactNode }> = [
  { path: 'work/active', area: 'facility', element: () => <ActiveExamsScreen /> },
  { path: 'work/completed', area: 'facility', element: () => <CompletedExamsScreen /> },
  { path: 'work/register', area: 'facility', element: () => <RegisterExamScreen /> },
  { path: 'work/technician', area: 'technician', element: () => <TechnicianWorkScreen /> },
  { path: 'work/exceptions', area: 'technician', element: () => <ExceptionsScreen /> },
  { path: 'work/uploads', area: 'technician', element: () => <UploadsScreen /> },
  { path: 'work/billing', area: 'billing', element: () => <BillingScreen /> },
];

export function WorkScreen({ user, index }: { user: SessionUser | undefined; index: number }) {
  const screen = workScreens[index];
  if (!screen) return null;
  return (
    <Guard user={user} area={screen.area}>
      {screen.element()}
    </Guard>
  );
}

/** The home of a user who only works in the process: a facility user's active list, a technician's work. */
export function workHome(user: SessionUser | undefined): ReactNode | undefined {
  if (!isWorkOnly(user)) return undefined;
  if (user?.roles.includes('customer')) return <ActiveExamsScreen />;
  if (user?.roles.includes('technician')) return <TechnicianWorkScreen />;
  return undefined;
}
