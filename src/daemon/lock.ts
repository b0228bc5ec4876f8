/**
 * One daemon per data root. The lock is an abstract unix socket named after
 * the data root: the kernel frees it when the process dies, however it dies,
 * so a SIGKILLed daemon never leaves a stale lock behind.
 */
import net from 'node:net';
import { createHash } from 'node:crypto';

export class LockedError extends Error {}

export function lockDataRoot(dataRoot: string): Promise<net.Server> {
  const name = `\0berthd-${createHash('sha256').update(dataRoot).digest('hex').slice(0, 32)}`;
  return new Promise((resolve, reject) => {
    const server = net.createServer((s) => s.destroy());
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new LockedError(`another berthd is already running with data root ${dataRoot}`));
      else reject(err);
    });
    server.listen(name, () => {
      server.unref();
      resolve(server);
    });
  });
}
