// The hub's SCP alone in its own process, so the benchmark reads this process's peak RSS and nothing else.
// Prints {"port":N} once listening; stops cleanly on SIGTERM. `nosync` turns off fsync (diagnostic rows only).
import { DicomScp } from '../../dicom/scp.ts';
import { setLogLevel } from '../../runtime/log.ts';

const [storageDir, sync = 'sync'] = process.argv.slice(2);
if (storageDir === undefined) throw new Error('usage: scp-child.ts <storageDir> [sync|nosync]');
setLogLevel('warn');
const scp = new DicomScp({
  aeTitle: 'HUB',
  host: '127.0.0.1',
  port: 0,
  storageDir,
  syncStorage: sync !== 'nosync',
  isKnownCallingAe: () => true,
  onInstanceStored: async () => undefined,
});
await scp.start();
process.stdout.write(`${JSON.stringify({ port: scp.port })}\n`);
process.once('SIGTERM', () => {
  void scp.stop().then(() => process.exit(0));
});
