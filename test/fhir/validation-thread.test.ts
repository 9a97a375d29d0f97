// The validation thread must answer exactly as validate() on the calling thread: same acceptance, same 400
// OperationOutcome. Compared on the FHIR fixtures and on broken variants of them.
import type { ServiceRequest } from '@medplum/fhirtypes';
import test from 'ava';
import { HttpError } from '../../http/http-error.ts';
import { outcomeOf } from '../../fhir/outcome.ts';
import { ValidationThread } from '../../fhir/validation-thread.ts';
import { inlineValidator } from '../../fhir/validator.ts';
import { setThreadIdleSeconds } from '../../runtime/idle-thread.ts';
import { until } from '../support/channels.ts';
import { fixture } from './server.ts';

type Answer = { ok: true } | { status: number; outcome: unknown };

async function answer(run: () => Promise<unknown>): Promise<Answer> {
  try {
    await run();
    return { ok: true };
  } catch (error) {
    if (error instanceof HttpError) return { status: error.status, outcome: outcomeOf(error) };
    throw error;
  }
}

test('the validation thread accepts and refuses exactly what inline validation does', async (t) => {
  const thread = new ValidationThread();
  t.teardown(() => thread.stop());
  const order = await fixture('service-request-ct-head.json');
  const noIntent = { ...order, intent: undefined };
  const badDate = { ...order, occurrenceDateTime: '2026-13-45' };
  const unknownElement = { ...order, colour: 'blue' };
  const cases: Array<[string, unknown, 'Patient' | 'ServiceRequest', string | undefined]> = [
    ['valid order', order, 'ServiceRequest', undefined],
    ['valid patient', await fixture('patient-jane-doe.json'), 'Patient', undefined],
    ['bad birth date', await fixture('patient-invalid-birthdate.json'), 'Patient', undefined],
    ['missing intent', JSON.parse(JSON.stringify(noIntent)), 'ServiceRequest', undefined],
    ['bad date in a transaction entry', badDate, 'ServiceRequest', 'Bundle.entry[1].resource'],
    ['unknown element', unknownElement, 'ServiceRequest', undefined],
    ['wrong type', order, 'Patient', undefined],
    ['not an object', [order], 'ServiceRequest', undefined],
  ];
  for (const [name, value, type, prefix] of cases) {
    const inline = await answer(() => inlineValidator.validate(value, [type], prefix));
    const threaded = await answer(() => thread.validate(value, [type], prefix));
    t.deepEqual(threaded, inline, name);
  }
  t.deepEqual(await answer(() => thread.validate(order, ['ServiceRequest'])), { ok: true });
  t.is(((await answer(() => thread.validate(noIntent, ['ServiceRequest']))) as { status: number }).status, 400);
});

test('a stopped validation thread fails what it held, and the next validation starts a new one', async (t) => {
  const thread = new ValidationThread();
  t.teardown(() => thread.stop());
  const order = await fixture<ServiceRequest>('service-request-ct-head.json');
  const held = thread.validate(order, ['ServiceRequest']);
  await thread.stop();
  await t.throwsAsync(held, { message: /stopped/ });
  t.is(await thread.validate(order, ['ServiceRequest']), order);
});

test.serial('an idle validation thread ends, and the next validation starts a new one', async (t) => {
  setThreadIdleSeconds(0.3);
  t.teardown(() => setThreadIdleSeconds(30));
  const thread = new ValidationThread();
  t.teardown(() => thread.stop());
  const order = await fixture<ServiceRequest>('service-request-ct-head.json');
  t.is(await thread.validate(order, ['ServiceRequest']), order);
  t.true(thread.running);
  await until(() => !thread.running, 10_000, 'the idle validation thread to end');
  t.false(thread.running, 'ended after the idle time');
  t.is(await thread.validate(order, ['ServiceRequest']), order);
  t.true(thread.running);
});
