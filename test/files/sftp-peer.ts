// A real SFTP server for the remote-folder tests: OpenSSH's sftp-server (Debian's openssh-sftp-server) serving a
// temp folder, behind an SSH transport from ssh2 (no sshd can be started here without root). It checks a password
// or a public key, and gives its host key's SHA-256 fingerprint for the hub to pin, as `ssh-keygen -lf` shows it.
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import net from 'node:net';
import ssh2 from 'ssh2';
import { sha256Fingerprint } from '../../files/sftp-remote.ts';

const sftpServer = '/usr/lib/openssh/sftp-server';

export interface SftpPeer {
  port: number;
  fingerprint: string;
  /** Logins that reached the server's authentication, by method. */
  logins: string[];
  close(): Promise<void>;
}

export async function startSftpPeer(
  root: string,
  login: { user: string; password?: string; publicKey?: string },
): Promise<SftpPeer> {
  const { privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'sec1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const hostKey = ssh2.utils.parseKey(privateKey);
  if (hostKey instanceof Error || Array.isArray(hostKey)) throw new Error('host key');
  const allowed = login.publicKey === undefined ? undefined : ssh2.utils.parseKey(login.publicKey);
  if (allowed instanceof Error || Array.isArray(allowed)) throw new Error('client key');
  const logins: string[] = [];
  const children = new Set<ReturnType<typeof spawn>>();
  const server = new ssh2.Server({ hostKeys: [privateKey] }, (client) => {
    client.on('authentication', (ctx) => {
      logins.push(ctx.method);
      if (ctx.username !== login.user) return ctx.reject();
      if (ctx.method === 'password' && login.password !== undefined && ctx.password === login.password)
        return ctx.accept();
      if (ctx.method === 'publickey' && allowed !== undefined && allowed.getPublicSSH().equals(ctx.key.data)) {
        if (!ctx.signature) return ctx.accept();
        if (ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) return ctx.accept();
      }
      ctx.reject(['password', 'publickey']);
    });
    client.on('ready', () =>
      client.on('session', (accept) => {
        const session = accept();
        session.on('subsystem', (acceptSubsystem, reject, info) => {
          if (info.name !== 'sftp') return reject();
          const channel = acceptSubsystem();
          const child = spawn(sftpServer, ['-d', root], { stdio: ['pipe', 'pipe', 'inherit'] });
          children.add(child);
          channel.pipe(child.stdin);
          child.stdout.pipe(channel);
          child.on('exit', () => {
            children.delete(child);
            channel.close();
          });
          channel.on('close', () => child.stdin.end());
        });
      }),
    );
    client.on('error', () => undefined);
  });
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    server.injectSocket(socket);
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  return {
    port: (tcp.address() as net.AddressInfo).port,
    fingerprint: sha256Fingerprint(hostKey.getPublicSSH()),
    logins,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      for (const child of children) child.kill();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
