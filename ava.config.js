export default {
  files: ['test/**/*.test.ts'],
  extensions: ['ts'],
  timeout: '2m',
  // Integration tests start real peers on loopback ports; two cores do not gain from more workers.
  concurrency: 2,
  workerThreads: false,
};
