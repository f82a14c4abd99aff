// `agentdb proxy --socket DIR`: a unix socket named as psql expects (DIR/.s.PGSQL.<port>) that only this
// user can reach. Node cannot read a unix peer's credentials (no SO_PEERCRED), so the file system does the
// first gate (a 0700 directory of ours, a 0600 socket) and the proxy's password the second.
import net from 'node:net';
import path from 'node:path';
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { ClientError, ClientErrorCode } from './errors.js';

export async function listenOnSocketDir(dir: string, port: number, onConnection: (socket: net.Socket, socketPath: string) => void): Promise<{ server: net.Server; socketPath: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // An existing directory is used only if it is already private: changing the mode of, say, /tmp is not ours to do.
  const st = await lstat(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(3, '0');
    throw new ClientError(
      ClientErrorCode.PROXY_SOCKET_DIR,
      `--socket ${dir} must be a directory of yours that only you can open (it is ${st.isDirectory() ? `mode ${mode}, owner uid ${st.uid}` : 'not a directory'}): give a new path, or chmod 700 it`,
    );
  }
  const socketPath = path.join(dir, `.s.PGSQL.${port}`);
  await rm(socketPath, { force: true });
  const server = net.createServer((s) => onConnection(s, socketPath));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600);
  return { server, socketPath };
}
