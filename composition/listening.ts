// The one place a listener that cannot open (port in use, no permission, an unreadable TLS file) becomes the
// config error: one line naming the file and the key, as for every other config mistake.
import type { HubConfig } from '../config/hub-config.ts';
import { ConfigError } from '../config/load.ts';
import { ListenError } from '../runtime/listener.ts';

/** Runs `start`; a ListenError comes out as `<file>: <section>.port|tls: <reason>`. */
export async function listening<T>(config: HubConfig, section: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof ListenError)
      throw new ConfigError(`${config.file}: ${section}.${error.setting}: ${error.message}`, { cause: error });
    throw error;
  }
}
