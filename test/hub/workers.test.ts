// hub.workers (issue 18): a supervisor and several real hub processes sharing one port (SO_REUSEPORT) and one
// embedded store. Which process answered is read from /health (its `process` part, shown to a monitor token).
import http from 'node:http';
import test from 'ava';
import { until } from '../support/channels.ts';
import { api, startHub, stopHub, waitHealthy } from '../support/hub-process.ts';
import { answeringPid, answeringPids, isRunning, workersConfig } from '../support/workers.ts';

test('with hub.workers 2, two processes answer on one port; a killed one is replaced; SIGTERM stops them all', async (t) => {
  const hub = await startHub({ config: workersConfig(2) });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const first = await answeringPids(hub, 2);
  t.false(first.has(hub.child.pid ?? -1), 'the supervisor itself serves nothing');

  const [victim] = [...first];
  process.kill(victim!, 'SIGKILL');
  await until(
    async () => {
      const pid = await answeringPid(hub).catch(() => 0);
      return pid !== 0 && !first.has(pid);
    },
    60_000,
    'a new worker in place of the killed one',
  );
  t.regex(hub.stdout(), /"msg":"worker died; restarting"/);
  const now = await answeringPids(hub, 2);
  t.false(now.has(victim!));

  t.is(await stopHub(hub), 0, 'a clean stop of every worker');
  for (const pid of now) t.false(isRunning(pid), `worker ${pid} stopped with the supervisor`);
});

test('/metrics and the dashboard API show every worker (pid, uptime, event-loop lag, leases), whichever answers', async (t) => {
  const hub = await startHub({ config: workersConfig(2) });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const pids = await answeringPids(hub, 2);
  // Each process writes a heartbeat every 5 s: within a few, any process knows both.
  await until(
    async () => {
      const text = await (await api(hub, '/metrics')).text();
      return [...pids].every((pid) => new RegExp(`hub_process_uptime_seconds\\{[^}]*pid="${pid}"`).test(text));
    },
    60_000,
    'both processes in /metrics',
  );
  const metrics = await (await api(hub, '/metrics')).text();
  t.regex(metrics, /hub_process_event_loop_lag_p99_seconds\{instance="[^"]+",pid="\d+",worker="[12]"/);
  t.regex(metrics, /hub_process_leases_held\{/);
  const dashboard = (await (await api(hub, '/api/dashboard')).json()) as {
    processes: Array<{ pid: number; worker: number; uptimeSeconds: number; leases: string[] }>;
  };
  t.deepEqual(dashboard.processes.map((p) => p.pid).sort(), [...pids].sort());
  t.deepEqual(dashboard.processes.map((p) => p.worker).sort(), [1, 2]);
  // The event publisher runs in exactly one of them.
  t.is(dashboard.processes.filter((p) => p.leases.includes('outbox-publisher')).length, 1);
  t.is(await stopHub(hub), 0);
});

test('no worker outlives a supervisor killed with SIGKILL', async (t) => {
  const hub = await startHub({ config: workersConfig(2) });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const pids = await answeringPids(hub, 2);
  hub.child.kill('SIGKILL');
  await hub.exited;
  await until(() => [...pids].every((pid) => !isRunning(pid)), 60_000, 'the workers to stop');
  t.pass();
});

test('a worker that cannot start (its port is taken) stops the supervisor with a clear error', async (t) => {
  const blocker = http.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => void blocker.close());
  const address = blocker.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const hub = await startHub({ config: workersConfig(2), port: address.port });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  t.is(await hub.exited, 1);
  t.regex(hub.stderr(), /rso-hub: .*in use/);
});
