// Child process: the least a Node.js relay can do. It answers SSLRequest, terminates the client's TLS with
// the bench's server certificate, and pipes the bytes to PostgreSQL over plain TCP, as pgbouncer does on its
// path: no framing, no policy, no audit. Its TPS is the floor a relay written in Node.js starts from; the
// gateway's distance to it is the gateway's own work, and its distance to pgbouncer is the runtime's.
//
// argv[2]: JSON {certFile, keyFile, pgHost, pgPort}. Sends {type: 'ready', host, port} once listening; answers
// {type: 'memory'} (child-memory.ts).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { answerMemoryRequests } from './child-memory.ts';

interface Options {
  certFile: string;
  keyFile: string;
  pgHost: string;
  pgPort: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const secureContext = tls.createSecureContext({ cert: readFileSync(options.certFile), key: readFileSync(options.keyFile) });
const SSL_REQUEST = 80877103;

const server = net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.once('readable', function first() {
    const head: Buffer | null = socket.read(8);
    if (head === null) return socket.once('readable', first);
    if (head.readUInt32BE(4) !== SSL_REQUEST) return socket.destroy();
    socket.write('S');
    const client = new tls.TLSSocket(socket, { isServer: true, secureContext });
    const backend = net.connect(options.pgPort, options.pgHost);
    backend.setNoDelay(true);
    const close = () => {
      client.destroy();
      backend.destroy();
    };
    client.on('error', close).on('close', close);
    backend.on('error', close).on('close', close);
    client.pipe(backend);
    backend.pipe(client);
  });
});
server.listen(0, '127.0.0.1', () => {
  const { address, port } = server.address() as net.AddressInfo;
  process.send?.({ type: 'ready', host: address, port });
});
process.on('disconnect', () => process.exit(0));
answerMemoryRequests();
