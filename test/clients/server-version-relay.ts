// A loopback relay that tells the client another server_version. pg_dump refuses a server newer than itself, and
// Debian 12 ships pg_dump 15 while the tests run PostgreSQL 18: through this relay pg_dump 15 runs its own
// catalog queries and COPYs against the newer server, which is what the client matrix needs to see through the
// gateway. Only the ParameterStatus of server_version during startup is changed; every other byte, both ways, is
// relayed as it came. Where a pg_dump of the server's version is installed the matrix uses that instead.
import { startLoopbackRelay } from '../helpers/byte-tee.js';

const PARAMETER_STATUS = 0x53; // 'S'
const READY_FOR_QUERY = 0x5a; // 'Z'

export interface Relay {
  readonly port: number;
  close(): Promise<void>;
}

function parameterStatus(name: string, value: string): Buffer {
  const body = Buffer.from(`${name}\0${value}\0`);
  const msg = Buffer.alloc(5 + body.length);
  msg[0] = PARAMETER_STATUS;
  msg.writeInt32BE(4 + body.length, 1);
  body.copy(msg, 5);
  return msg;
}

/** Rewrites server_version in the backend's startup messages, then passes everything through untouched. */
function startupRewriter(version: string): (chunk: Buffer) => Buffer {
  let pending = Buffer.alloc(0);
  let started = false;
  return (chunk) => {
    if (started) return chunk;
    pending = Buffer.concat([pending, chunk]);
    const out: Buffer[] = [];
    while (!started && pending.length >= 5) {
      const end = 1 + pending.readInt32BE(1);
      if (pending.length < end) break;
      let msg: Buffer = pending.subarray(0, end);
      pending = pending.subarray(end);
      if (msg[0] === PARAMETER_STATUS && msg.subarray(5, msg.indexOf(0, 5)).toString() === 'server_version') msg = parameterStatus('server_version', version);
      // The first ReadyForQuery ends the startup: from here on nothing is looked at.
      if (msg[0] === READY_FOR_QUERY) started = true;
      out.push(msg);
    }
    if (started) {
      out.push(pending);
      pending = Buffer.alloc(0);
    }
    return Buffer.concat(out);
  };
}

/** Starts a relay on 127.0.0.1 (a free port) to `target`, reporting `version` as the server's version. */
export async function startServerVersionRelay(target: { host: string; port: number }, version: string): Promise<Relay> {
  const relay = await startLoopbackRelay(target, () => startupRewriter(version));
  return { port: relay.address.port, close: () => relay.close() };
}
