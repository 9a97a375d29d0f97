// TLS for the hub's outgoing connections (MLLP destinations, the DICOM SCU): the options for tls.connect() from a
// sender's `tls` setting (parsed in listener-settings.ts with the listeners' `tls`). The peer's certificate and
// host name are always verified, TLS 1.2 or newer only (BCP 195, PS3.15 B.9). Files are read at each connect, so
// a renewed certificate needs no restart; an unreadable file names the file and never its content.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type tls from 'node:tls';
import { errorText } from './log.ts';

export interface SenderTlsSettings {
  /** The CA that signed the peer's certificate (PEM); without it, Node's bundled public CAs. */
  caFile?: string;
  /** A client certificate and its key (PEM), for peers that ask for one (mutual TLS). */
  certFile?: string;
  keyFile?: string;
  /** The name the peer's certificate must carry (and SNI); default: the host when it is a name, not an address. */
  servername?: string;
}

/** Options for tls.connect() to `host`; throws an Error naming the file that cannot be read. */
export function senderTlsOptions(settings: SenderTlsSettings, host: string): tls.ConnectionOptions {
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(`cannot read the TLS ${what} file ${file} (${code ?? errorText(error)})`, { cause: error });
    }
  };
  const options: tls.ConnectionOptions = { minVersion: 'TLSv1.2', rejectUnauthorized: true };
  if (settings.caFile !== undefined) options.ca = read(settings.caFile, 'CA');
  if (settings.certFile !== undefined) options.cert = read(settings.certFile, 'certificate');
  if (settings.keyFile !== undefined) options.key = read(settings.keyFile, 'key');
  // RFC 6066 3: SNI carries a host name, never an address; the identity check then uses the connect host.
  const servername = settings.servername ?? (net.isIP(host) === 0 ? host : undefined);
  if (servername !== undefined) options.servername = servername;
  return options;
}

/** The words a TLS failure is reported with: "TLS failed: REASON (CODE)", e.g. an unverifiable peer certificate. */
export function tlsFailureText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return `TLS failed: ${errorText(error)}${code === undefined ? '' : ` (${code})`}`;
}
