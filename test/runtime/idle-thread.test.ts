// The idle countdown every worker-thread owner uses (runtime/idle-thread.ts), and the malloc_trim binding it calls
// once a thread has ended (runtime/malloc-trim.ts, built at install by setup/malloc-trim-binding.ts).
import test from 'ava';
import { IdleEnd, setThreadIdleSeconds } from '../../runtime/idle-thread.ts';
import { canReturnFreedMemory, returnFreedMemory } from '../../runtime/malloc-trim.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test.serial('idle() ends the thread after the idle time; busy() before it keeps it; 0 keeps it for good', async (t) => {
  t.teardown(() => setThreadIdleSeconds(30));
  setThreadIdleSeconds(0.1);
  let ended = 0;
  const idle = new IdleEnd(() => {
    ended++;
    return Promise.resolve();
  });
  idle.idle();
  await sleep(50);
  idle.busy();
  await sleep(150);
  t.is(ended, 0, 'work came before the idle time ran out');
  idle.idle();
  idle.idle();
  await sleep(250);
  t.is(ended, 1, 'ended once, however often idle() was said');
  setThreadIdleSeconds(0);
  idle.idle();
  await sleep(250);
  t.is(ended, 1, '0: threads stay');
});

test('the malloc_trim binding was built at install and loads (Linux)', (t) => {
  if (process.platform !== 'linux') return t.pass('malloc_trim is glibc');
  t.true(canReturnFreedMemory(), 'setup/malloc-trim-binding.ts should have built it: see npm install');
  t.is(typeof returnFreedMemory(), 'boolean');
});
