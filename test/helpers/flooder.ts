// Floods of connections that never authenticate, opened from a worker thread: the server under test runs in
// the test's own process, and timing its answers from a loop busy opening thousands of sockets would time
// that loop instead. This file is both the API (runFlood) and the worker (Node strips its types; it imports
// nothing but node: modules).
import net from 'node:net';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

export interface FloodSpec {
  port: number;
  /** local (loopback) addresses to connect from */
  sources: string[];
  perSource: number;
  /** sent on connect */
  first?: Uint8Array;
  /** sent when the server's first byte is 'S' (SSLRequest accepted): e.g. the start of a TLS handshake */
  onS?: Uint8Array;
}

export interface FloodRecord {
  connectedAt: number;
  /** undefined: still open when the flood's time ran out */
  closedAt?: number;
  /** the first byte the server sent, if any */
  firstByte?: number;
  /** the server sent an ErrorResponse with SQLSTATE 53300 */
  said53300: boolean;
}

/** Runs the floods side by side until every connection is closed or `timeoutMs` passes; records per flood. */
export function runFloods(specs: FloodSpec[], timeoutMs: number): Promise<FloodRecord[][]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { specs, timeoutMs } });
    worker.once('message', (records: FloodRecord[][]) => resolve(records));
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`flood worker exited with ${code}`))));
  });
}

/** Well under the listen backlog (511): beyond it the kernel drops the handshake's last ACK, and the connection is
 *  accepted only at a SYN-ACK retransmit seconds later. */
const BATCH = 100;

/** every socket the worker opened, so that none outlives it */
const sockets: net.Socket[] = [];

async function flood(spec: FloodSpec, deadline: number): Promise<FloodRecord[]> {
  const records: FloodRecord[] = [];
  const closed: Promise<void>[] = [];
  // round robin over the sources, as connections from several clients would arrive
  const plan = Array.from({ length: spec.perSource }, () => spec.sources).flat();
  for (let i = 0; i < plan.length; i += BATCH) {
    await Promise.all(
      plan.slice(i, i + BATCH).map(
        (localAddress) =>
          new Promise<void>((connected) => {
            const r: FloodRecord = { connectedAt: 0, said53300: false };
            records.push(r);
            const socket = net.connect({ host: '127.0.0.1', port: spec.port, localAddress });
            sockets.push(socket);
            let data = Buffer.alloc(0);
            socket.on('error', () => undefined);
            socket.on('data', (d: Buffer) => {
              if (data.length === 0 && spec.onS && d[0] === 0x53) socket.write(spec.onS);
              data = Buffer.concat([data, d]);
              r.firstByte = data[0];
              r.said53300 = data[0] === 0x45 && data.includes('53300');
            });
            closed.push(new Promise((done) => socket.once('close', () => {
              r.closedAt = Date.now();
              connected();
              done();
            })));
            socket.once('connect', () => {
              r.connectedAt = Date.now();
              if (spec.first) socket.write(spec.first);
              connected();
            });
          }),
      ),
    );
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(closed), new Promise((resolve) => (timer = setTimeout(resolve, deadline - Date.now())))]);
  clearTimeout(timer);
  return records;
}

if (!isMainThread && workerData?.specs) {
  const { specs, timeoutMs } = workerData as { specs: FloodSpec[]; timeoutMs: number };
  const deadline = Date.now() + timeoutMs;
  void Promise.all(specs.map((s) => flood(s, deadline))).then((records) => {
    parentPort!.postMessage(records);
    // Whatever is still open is the server's failure, already recorded; with it closed the thread ends.
    for (const s of sockets) s.destroy();
  });
}
