// A TCP tee between a client and a server on loopback: it relays both directions untouched and keeps every byte
// the server side sent, so a test can search exactly what a real client received (whatever the client later
// does with it). Clients use it one query at a time, so a mark taken before a query and read after it gives
// the bytes of that query alone.
import net from 'node:net';

export interface Address {
  host: string;
  port: number;
}

export interface ByteTee {
  /** where clients connect instead of the server */
  readonly address: Address;
  /** how many bytes the server side has sent so far (across all connections): a mark for `since` */
  mark(): number;
  /** the bytes received from the server side after `mark` */
  since(mark: number): Buffer;
  /** every byte received from the server side */
  all(): Buffer;
  /** number of client connections accepted so far */
  readonly connections: number;
  close(): Promise<void>;
}

/** A loopback TCP relay to `target`: client bytes go up untouched, server bytes go down through `down`. */
export interface LoopbackRelay {
  readonly address: Address;
  /** number of client connections accepted so far */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * Starts a relay on 127.0.0.1 (a free port, or `port`: a relay stopped and started again on the same port is a
 * server that went away and came back); `down` gets each server chunk and returns what the client gets.
 */
export async function startLoopbackRelay(target: Address, down: () => (chunk: Buffer) => Buffer, port = 0): Promise<LoopbackRelay> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const pass = down();
    upstream.on('data', (chunk: Buffer) => client.write(pass(chunk)));
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    const shut = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', shut).on('error', shut);
    upstream.on('close', () => client.end()).on('error', shut);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    address: { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port },
    get connections() {
      return connections;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Starts a tee on 127.0.0.1 (a free port) relaying to `target`. */
export async function startByteTee(target: Address): Promise<ByteTee> {
  const chunks: Buffer[] = [];
  let total = 0;
  // Kept before it is relayed: when the client has seen a byte, the tee has it too.
  const relay = await startLoopbackRelay(target, () => (chunk) => {
    chunks.push(Buffer.from(chunk));
    total += chunk.length;
    return chunk;
  });
  return {
    address: relay.address,
    mark: () => total,
    since(mark: number) {
      // Walk back from the newest chunk: a query's bytes are at the end.
      let i = chunks.length;
      let start = total;
      while (i > 0 && start > mark) start -= chunks[--i]!.length;
      return Buffer.concat(chunks.slice(i)).subarray(mark - start);
    },
    all: () => Buffer.concat(chunks),
    get connections() {
      return relay.connections;
    },
    close: () => relay.close(),
  };
}
