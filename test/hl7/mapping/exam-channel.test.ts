// End to end through the real channel engine: a channel with the `mllp` source on a real loopback MLLP socket
// and the `rso-exams` destination, on a real embedded store. What a facility's RIS and an analyst would see:
// NW creates an exam, XO changes it, CA cancels it, a late XO is refused and shows as the message's
// destination error while the exam stays as it was; A08 updates the patient; A40 merges two patients and
// moves the exams.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { registerBuiltinConnectors } from '../../../channels/builtin-connectors.ts';
import { parseChannelDefinition } from '../../../channels/definition-schema.ts';
import { ChannelEngine } from '../../../channels/engine.ts';
import type { DeliveryRecord } from '../../../channels/message-store.ts';
import { ChannelRegistry } from '../../../channels/registry.ts';
import { registerHl7Connectors, registerHl7ExamMapping } from '../../../hl7/register.ts';
import { freePort } from '../../support/hub-process.ts';
import { MllpTestClient } from '../mllp-peer.ts';
import { mappingFixtures, openMappingHub, quietLog } from './exam-hub.ts';

const channelId = 'valley-orders';
/** Valley General's MRN authority (CX-4 VALLEYGEN) as config/facilities/valley-general.json maps it. */
const valleyMrn = 'urn:oid:2.16.840.1.113883.3.9999.1';

test('orders and ADT over MLLP become exams and patients; a refused change is an error on the message', async (t) => {
  const { store, exams } = await openMappingHub(t);
  const registry = new ChannelRegistry();
  registerBuiltinConnectors(registry);
  registerHl7Connectors(registry);
  registerHl7ExamMapping(registry, exams);
  const engine = new ChannelEngine({ db: store.db, registry, log: quietLog, pollIntervalMs: 50 });
  t.teardown(() => engine.stop());
  await engine.start();
  const port = await freePort();
  const definition = parseChannelDefinition(
    {
      id: channelId,
      name: 'Valley orders and ADT to exams',
      source: {
        type: 'mllp',
        settings: { host: '127.0.0.1', port, messageTypes: ['ORM^O01', 'OMI^O23', 'ADT^A04', 'ADT^A08', 'ADT^A40'] },
      },
      destinations: [{ name: 'exams', connector: { type: 'rso-exams', settings: { timeZone: 'America/New_York' } } }],
    },
    registry,
  );
  const [status] = await engine.deploy({ definition, revision: 0 });
  t.is(status?.status, 'deployed', status?.error);
  const client = await MllpTestClient.connect(port);
  t.teardown(() => client.socket.destroy());

  /** Sends a fixture, checks the ACK, and waits until the exams destination has settled the message. */
  const deliver = async (fixture: string): Promise<DeliveryRecord> => {
    const payload = await readFile(path.join(mappingFixtures, fixture));
    const ack = await client.exchange(payload);
    t.true(
      ['AA', 'CA'].includes(ack.get('MSA-1') ?? ''),
      `${fixture}: ACK ${ack.get('MSA-1')} ${ack.get('MSA-3') ?? ''}`,
    );
    const controlId = ack.get('MSA-2')!;
    for (;;) {
      const found = await engine.searchMessages({ channelId, controlId });
      const message = found.items[0] && (await engine.getMessage(found.items[0]._id));
      const delivery = message?.destinations[0];
      if (delivery && (delivery.state === 'sent' || delivery.state === 'error')) return delivery;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const nw = await deliver('orders/orm-nw-v24-multi.hl7');
  t.is(nw.state, 'sent', nw.lastError ?? '');
  const first = await exams.findByIdentifier('VALLEYGEN', 'placer', 'VG-PLC-1');
  const second = await exams.findByIdentifier('VALLEYGEN', 'placer', 'VG-PLC-2');
  t.truthy(first);
  t.truthy(second);
  t.regex(nw.response ?? '', new RegExp(`exam ${first!.examNumber} created; exam ${second!.examNumber} created`));
  t.like(first, { status: 'requested', priority: 'routine', modality: 'CT' });
  t.deepEqual(first!.history[0]?.by, {
    actor: `channel:${channelId}`,
    via: 'hl7',
    messageId: (await engine.searchMessages({ channelId, controlId: 'VG24-1001' })).items[0]?._id,
  });

  const xo = await deliver('orders/orm-xo-v24.hl7');
  t.is(xo.state, 'sent', xo.lastError ?? '');
  t.like(await exams.get(first!.examNumber), { priority: 'stat', scheduledAt: '2024-06-11T14:30:00.000Z', version: 2 });

  const ca = await deliver('orders/orm-ca-v24.hl7');
  t.is(ca.state, 'sent', ca.lastError ?? '');
  t.is((await exams.get(second!.examNumber))?.status, 'cancelled');
  // The publisher empties the exam's outbox in the background; once it is empty, nothing but a change can differ.
  await exams.outbox.publishPending();
  const cancelled = await exams.get(second!.examNumber);

  const late = await deliver('orders/orm-xo-after-ca.hl7');
  t.is(late.state, 'error');
  t.is(late.attempts, 1, 'a refused transition is permanent: not retried');
  t.regex(late.lastError ?? '', /status cancelled -> cancelled is not allowed: a closed exam cannot be changed/);
  t.deepEqual(await exams.get(second!.examNumber), cancelled, 'the cancelled exam is unchanged');

  const a08 = await deliver('adt/adt-a08-v24-valley.hl7');
  t.is(a08.state, 'sent', a08.lastError ?? '');
  const patient = await exams.patients.findByIdentifier(valleyMrn, 'V100200');
  t.is(patient?.name.family, "O'BRIEN-KELLY");
  t.is((await exams.get(first!.examNumber))?.patientId, patient?._id);

  // Two patients, the first with an exam; the A40 merges the first into the second.
  t.is((await deliver('orders/orm-nw-v251.hl7')).state, 'sent');
  t.is((await deliver('adt/adt-a04-v251-survivor.hl7')).state, 'sent');
  const mergedAway = await exams.patients.findByIdentifier(valleyMrn, 'V555111');
  const survivor = await exams.patients.findByIdentifier(valleyMrn, 'V555999');
  const exam = await exams.findByIdentifier('VALLEYGEN', 'placer', 'VG-PLC-51');
  t.is(exam?.patientId, mergedAway?._id);
  const a40 = await deliver('adt/adt-a40-v251.hl7');
  t.is(a40.state, 'sent', a40.lastError ?? '');
  t.is((await exams.patients.get(mergedAway!._id))?.mergedInto, survivor?._id);
  t.is((await exams.get(exam!.examNumber))?.patientId, survivor?._id);
  t.is((await exams.findExams({ patientIds: [mergedAway!._id] })).total, 0);
});
