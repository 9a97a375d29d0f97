import test from 'ava';
import { retryDelayMs } from '../../channels/backoff.ts';
import { WakeSignal } from '../../channels/wake-signal.ts';

test('retry delays grow by the multiplier and stop at the maximum', (t) => {
  const policy = { initialDelayMs: 1000, maxDelayMs: 10_000, multiplier: 2 };
  t.deepEqual(
    [1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs(policy, attempt)),
    [1000, 2000, 4000, 8000, 10_000, 10_000],
  );
  t.is(retryDelayMs({ initialDelayMs: 500, maxDelayMs: 500, multiplier: 1 }, 40), 500);
});

test('a wake that arrives while the worker is busy is not lost', async (t) => {
  const signal = new WakeSignal();
  await signal.wait(1); // an idle poll that timed out
  signal.wake(); // an enqueue while the worker delivers
  let woke = false;
  const waiting = signal.wait(60_000).then(() => (woke = true));
  await waiting;
  t.true(woke);
});

test('a wake ends a running wait', async (t) => {
  const signal = new WakeSignal();
  const waiting = signal.wait(60_000);
  signal.wake();
  await waiting;
  t.pass();
});
