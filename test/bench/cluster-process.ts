// Child process: the agentdb server (control plane + gateway + built-in IdP, as `agentdb server --dev` wires
// them) on the bench's PostgreSQL. A process of its own so that the gateway has a core's event loop to
// itself rather than sharing the bench's, and so its RSS is its own. Node runs this file directly (type
// stripping), so it loads the server from the build in dist/, which `npm run bench` makes first.
//
// argv[2]: JSON {adminUrl, databaseName, dataDir}. Messages from the parent: {type: 'memory'} is answered
// with {type: 'memory', rss, heapUsed} after a full garbage collection; {type: 'close'} ends the process.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

type ServerModule = typeof import('../../src/server/index.js');

interface ChildOptions {
  adminUrl: string;
  databaseName: string;
  dataDir: string;
}

const options = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
const send = (msg: object) => process.send?.(msg);

try {
  const distServer = pathToFileURL(path.resolve(import.meta.dirname, '../../dist/server/index.js')).href;
  const { startDevCluster } = (await import(distServer)) as ServerModule;
  const cluster = await startDevCluster({ dataDir: options.dataDir, version: 'bench', adminUrl: options.adminUrl, databaseName: options.databaseName });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= cluster.close().finally(() => process.exit(0));
    return closing;
  };
  process.on('disconnect', () => void close());
  process.on('SIGTERM', () => void close());
  process.on('message', (msg: { type?: string }) => {
    if (msg.type === 'close') void close();
    if (msg.type === 'memory') {
      const gc = (globalThis as { gc?: () => void }).gc;
      // Two passes with a turn of the event loop between them: the first frees what the second can compact.
      gc?.();
      setImmediate(() => {
        gc?.();
        const m = process.memoryUsage();
        send({ type: 'memory', rss: m.rss, heapUsed: m.heapUsed, gc: !!gc });
      });
    }
  });
  send({ type: 'ready', info: cluster.info, devFile: cluster.devFile });
} catch (err) {
  send({ type: 'failed', message: (err as Error).stack ?? String(err) });
  process.exit(1);
}
