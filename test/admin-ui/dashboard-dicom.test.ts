// The dashboard's DICOM listener panel against a real hub and dcmtk's storescu: the calling AE's association and
// instances counted for today, the study waiting for completion (the quiet time is an hour, so nothing here
// depends on timing), a complete study's delivery to a PACS that refuses one instance counted per destination,
// and the panel as the console shows it in Chromium. AssociationActivity alone: an open
// association counts its instances, and the day's totals start again at midnight UTC.
import test from 'ava';
import { AssociationActivity } from '../../dicom/association-observer.ts';
import type { StoredInstance } from '../../dicom/incoming-instance.ts';
import { setLogLevel } from '../../runtime/log.ts';
import { missingBinaries } from '../dicom/peers.ts';
import {
  dicomTestConfig,
  hubAe,
  refusingPacs,
  storescu,
  studiesToPacsChannel,
  valleyFacility,
  writeStudy,
} from '../hub/dicom-support.ts';
import { launch, openPage, screenshot, signIn, unexpected } from '../support/browser.ts';
import { until } from '../support/channels.ts';
import { api, defaultTestConfig, startHub, stopHub, waitHealthy } from '../support/hub-process.ts';

setLogLevel('error');

const arrivingConfig = `${defaultTestConfig}dicom:
  enabled: true
  aeTitle: ${hubAe}
  studyQuietSeconds: 3600
`;

test('an open association counts its instances and the totals start again each UTC day', (t) => {
  let now = new Date('2026-12-05T23:59:00Z');
  const activity = new AssociationActivity(() => now);
  const association = activity.opened('VALLEY_CT');
  association.stored({} as StoredInstance);
  association.stored({} as StoredInstance);
  t.like(activity.snapshot(), { open: [{ callingAe: 'VALLEY_CT', instances: 2 }] });
  t.like(activity.snapshot().today, [{ callingAe: 'VALLEY_CT', associations: 1, instances: 2 }]);
  now = new Date('2026-12-06T00:01:00Z');
  association.stored({} as StoredInstance);
  t.like(activity.snapshot().today, [{ callingAe: 'VALLEY_CT', associations: 0, instances: 1 }]);
  association.closed();
  t.deepEqual(activity.snapshot().open, []);
});

test('a study sent by storescu shows in the DICOM panel: the AE today and the study waiting for completion', async (t) => {
  const missing = missingBinaries(['storescu']);
  if (missing.length > 0) return t.fail(`missing ${missing.join(', ')}: apt-get install -y dcmtk`);
  const hub = await startHub({ config: arrivingConfig, facilities: [await valleyFacility()] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);

  const empty = await (await api(hub, '/api/dashboard/dicom')).json();
  t.like(empty, { enabled: true, open: [], today: [], waitingForCompletion: [], delivery: [] });

  const study = await writeStudy(3, { patientId: 'V777002', patientName: 'PANEL^PAT', accessionNumber: 'ACC-P-1' });
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);
  const panel = (await (await api(hub, '/api/dashboard/dicom')).json()) as {
    open: unknown[];
    today: unknown[];
    waitingForCompletion: Array<{ studyInstanceUid: string; instanceCount: number; facility: string }>;
  };
  t.like(panel.today, [{ callingAe: 'VALLEY_CT', associations: 1, instances: 3 }]);
  t.like(panel.waitingForCompletion, [
    { studyInstanceUid: study.studyInstanceUid, instanceCount: 3, facility: 'VALLEYGEN' },
  ]);

  const created = await api(hub, '/api/users', {
    method: 'POST',
    body: JSON.stringify({ username: 'vic', name: 'Vic Viewer', roles: ['viewer'], password: 'first password' }),
  });
  t.is(created.status, 201);
  const browser = await launch(t);
  const { page, problems } = await openPage(browser);
  await signIn(page, hub.url('/'), 'vic', 'first password', 'vic watches dicom');
  const shown = page.getByTestId('dicom-panel');
  await shown.getByTestId('dicom-today-VALLEY_CT').getByTestId('instances').filter({ hasText: /^3$/ }).waitFor();
  await shown.getByTestId('dicom-study-waiting').waitFor();
  await shown.scrollIntoViewIfNeeded();
  await screenshot(page, '30-dashboard-dicom');
  t.deepEqual(unexpected(problems, [401]), []);
});

interface PanelDelivery {
  studyInstanceUid: string;
  instanceCount: number;
  destinations: Array<{ destination: string; stored: number; failed: number }>;
}

test('a complete study being sent shows how many of its instances the PACS stored and how many it refused', async (t) => {
  const study = await writeStudy(3, { patientId: 'V777003', patientName: 'SEND^SAM', accessionNumber: 'ACC-P-2' });
  const refused = study.sopInstanceUids[1]!;
  const { pacs } = await refusingPacs(t, 'RSO_PACS', (uid) => uid === refused);
  const hub = await startHub({
    config: dicomTestConfig,
    facilities: [
      await valleyFacility({ radiologistPacs: { aeTitle: 'RSO_PACS', host: '127.0.0.1', port: pacs.port } }),
    ],
    channels: [studiesToPacsChannel()],
  });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);

  let delivery: PanelDelivery | undefined;
  await until(
    async () => {
      const panel = (await (await api(hub, '/api/dashboard/dicom')).json()) as { delivery: PanelDelivery[] };
      delivery = panel.delivery.find((d) => d.studyInstanceUid === study.studyInstanceUid);
      return delivery?.destinations.some((d) => d.stored === 2 && d.failed === 1) === true;
    },
    60_000,
    'the delivery of two instances and the refusal of one',
  );
  t.is(delivery?.instanceCount, 3);
  t.is(delivery?.destinations.length, 1);

  const created = await api(hub, '/api/users', {
    method: 'POST',
    body: JSON.stringify({ username: 'vic', name: 'Vic Viewer', roles: ['viewer'], password: 'first password' }),
  });
  t.is(created.status, 201);
  const browser = await launch(t);
  const { page, problems } = await openPage(browser);
  await signIn(page, hub.url('/'), 'vic', 'first password', 'vic watches dicom');
  const bar = page.getByRole('progressbar', { name: /2 of 3 instances stored/ });
  await bar.waitFor();
  await bar.scrollIntoViewIfNeeded();
  await screenshot(page, '31-dashboard-dicom-delivery');
  t.deepEqual(unexpected(problems, [401]), []);
});
