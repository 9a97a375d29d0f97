// The real hub process for the reading screens' browser tests: the sample facility, an MLLP orders channel, the
// DICOM listener with a one-second quiet time, a viewer URL and a CT template; users made through /api; an
// exam made the way a facility makes one (ORM^O01 over MLLP, then its study by dcmtk's storescu, matched by
// accession) and waited for until it is on rad-chen's reading list.
import { MllpTestClient } from '../hl7/mllp-peer.ts';
import { storescu, valleyFacility, writeStudy, dicomTestConfig } from '../hub/dicom-support.ts';
import { until } from '../support/channels.ts';
import { api, freePort, type HubProcess, startHub, stopHub, waitHealthy } from '../support/hub-process.ts';
import type { ExecutionContext } from 'ava';

export const viewerBase = 'https://viewer.example/viewer?StudyInstanceUIDs=';

const readingConfig = `${dicomTestConfig}reports:
  viewerUrl: "${viewerBase}{StudyInstanceUID}"
  templates:
    CT:
      - name: CT head, normal
        findings: No acute intracranial haemorrhage, mass effect or midline shift.
        impression: Normal CT head.
`;

export async function startReadingHub(t: ExecutionContext): Promise<{ hub: HubProcess; mllpPort: number }> {
  const mllpPort = await freePort();
  const hub = await startHub({
    config: readingConfig,
    facilities: [await valleyFacility()],
    channels: [
      {
        id: 'valley-orders',
        name: 'Valley orders to exams',
        enabled: true,
        source: { type: 'mllp', settings: { host: '127.0.0.1', port: mllpPort, messageTypes: ['ORM^O01'] } },
        destinations: [
          { name: 'exams', connector: { type: 'rso-exams', settings: { timeZone: 'UTC' } }, queue: 'ordered' },
        ],
      },
    ],
  });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  return { hub, mllpPort };
}

export async function createUser(
  hub: HubProcess,
  username: string,
  name: string,
  roles: string[],
  facilities?: string[],
): Promise<void> {
  const answer = await api(hub, '/api/users', {
    method: 'POST',
    body: JSON.stringify({ username, name, roles, password: 'first password', ...(facilities ? { facilities } : {}) }),
  });
  if (answer.status !== 201) throw new Error(`user ${username}: ${answer.status} ${await answer.text()}`);
}

function orm(placer: string, mrn: string): Buffer {
  return Buffer.from(
    [
      `MSH|^~\\&|RIS|VALLEYGEN|RSO HUB|RSO|20261201093000||ORM^O01^ORM_O01|${placer}|P|2.5.1`,
      `PID|1||${mrn}^^^VALLEYGEN^MR||RIVERA^ANA^M||19800312|F`,
      `ORC|NW|${placer}^VALLEY_RIS||||||||||1234^WELBY^MARCUS`,
      `OBR|1|${placer}^VALLEY_RIS||CTHEAD^CT HEAD WO CONTRAST^C4|||20261201090000|||||||||||ACC-${placer}`,
      '',
    ].join('\r'),
  );
}

/** An ordered CT exam (of the patient with this MRN) with a complete 3-image study; resolves with its exam number once it is ready to read. */
export async function readyExam(
  hub: HubProcess,
  mllpPort: number,
  placer: string,
  mrn = `MRN-${placer}`,
): Promise<string> {
  const client = await MllpTestClient.connect(mllpPort);
  const ack = await client.exchange(orm(placer, mrn));
  await client.close();
  if (ack.get('MSA-1') !== 'AA') throw new Error(`order ${placer}: ${ack.get('MSA-1')}`);
  const study = await writeStudy(3, {
    patientId: mrn,
    patientName: 'RIVERA^ANA',
    accessionNumber: `ACC-${placer}`,
  });
  const sent = await storescu(hub, 'VALLEY_CT', study.files);
  if (sent.code !== 0) throw new Error(`storescu: ${sent.stderr}`);
  let examNumber: string | undefined;
  await until(
    async () => {
      const list = (await (await api(hub, '/api/radiologists/rad-chen/reading-list')).json()) as Array<{
        examNumber: string;
        identifiers: Array<{ kind: string; value: string }>;
      }>;
      examNumber = list.find((e) => e.identifiers.some((i) => i.value === `ACC-${placer}`))?.examNumber;
      return examNumber !== undefined;
    },
    30_000,
    `exam ${placer} on the reading list`,
  );
  return examNumber!;
}
