// Each upload account sees only its own folder: a client's path (absolute, or relative to its current directory)
// is read as a path inside that folder, `..` past its top is refused rather than clamped (so a client is told,
// not silently redirected), and no symbolic link inside the folder is followed, wherever it points. Clients
// cannot make links (SFTP SYMLINK is not offered); this guards against one planted by anyone else.
import { lstat } from 'node:fs/promises';
import path from 'node:path';

export class JailError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JailError';
  }
}

export interface JailedPath {
  /** As the client sees it: absolute, `/` is the top of the account's folder. */
  virtual: string;
  /** On the hub's disk. */
  real: string;
}

export class Jail {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** The path inside the folder; throws JailError for a path that leaves it or passes through a symbolic link. */
  async resolve(clientPath: string, cwd = '/'): Promise<JailedPath> {
    const segments = this.segments(clientPath, cwd);
    let real = this.root;
    for (const segment of segments) {
      real = path.join(real, segment);
      const stat = await lstat(real).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
        throw error;
      });
      if (stat === undefined) break;
      if (stat.isSymbolicLink()) throw new JailError('symbolic links are not followed');
    }
    return { virtual: `/${segments.join('/')}`, real: path.join(this.root, ...segments) };
  }

  /** The path's segments below the top; pure, so it can be tested on its own. */
  segments(clientPath: string, cwd = '/'): string[] {
    if (clientPath.includes('\0') || cwd.includes('\0')) throw new JailError('a path may not hold a NUL byte');
    const joined = clientPath.startsWith('/') ? clientPath : `${cwd}/${clientPath}`;
    const stack: string[] = [];
    for (const segment of joined.split('/')) {
      if (segment === '' || segment === '.') continue;
      if (segment === '..') {
        if (stack.length === 0) throw new JailError('the path leaves your upload folder');
        stack.pop();
        continue;
      }
      stack.push(segment);
    }
    return stack;
  }
}
