// Can node:tls use what the CA makes? A real mutual-TLS handshake on loopback, as the gateway does it.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, describe, expect, test } from 'vitest';
import { parseTaskCert } from '../../src/ca/index.js';
import { issueFor, newCa, samplePayload } from './ca-fixtures.js';

const userCa = await newCa('user', 'tls');
const hostCa = await newCa('host', 'tls');
const serverCert = await hostCa.issueServerCert({ hosts: ['127.0.0.1', 'localhost'], ttlMs: 3600_000 });

interface ServerView {
  authorized: boolean;
  authorizationError: string | undefined;
  peerRaw: Buffer | undefined;
}

const servers: tls.Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A server like the gateway's: trusts the user CA for clients, never rejects at the TLS layer so we can see why. */
async function startServer(cert: { certPem: string; keyPem: string }, clientCa = userCa.certPem) {
  const views: ServerView[] = [];
  const server = tls.createServer({ key: cert.keyPem, cert: cert.certPem, ca: clientCa, requestCert: true, rejectUnauthorized: false }, (socket) => {
    views.push({
      authorized: socket.authorized,
      authorizationError: socket.authorizationError ? String(socket.authorizationError) : undefined,
      peerRaw: socket.getPeerX509Certificate()?.raw,
    });
    socket.end('hello');
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, views };
}

/** Connects, reads until the server closes; resolves with the client's error code, if any. */
function connect(port: number, options: tls.ConnectionOptions): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...options });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.on('data', () => undefined);
    socket.on('end', () => resolve(undefined));
  });
}

const server = await startServer(serverCert);

describe('mutual TLS with node:tls', () => {
  test('a good task certificate is authorized, and the server reads back the same payload', async () => {
    const payload = samplePayload({ task: { id: 't-tls', reason: 'handshake ✓' } });
    const { cert, privateKeyPem } = await issueFor(userCa, { identity: 'agent-tls', payload });
    const before = server.views.length;
    expect(await connect(server.port, { ca: hostCa.certPem, key: privateKeyPem, cert: cert.pem })).toBeUndefined();
    const view = server.views[before];
    expect(view?.authorized).toBe(true);
    expect(view?.authorizationError).toBeUndefined();
    const parsed = parseTaskCert(view?.peerRaw ?? Buffer.alloc(0));
    expect(parsed.subject).toBe('agent-tls');
    expect(parsed.payload).toEqual(payload);
    expect(parsed.serial).toBe(cert.serial);
  });

  test('an expired task certificate: CERT_HAS_EXPIRED', async () => {
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    const { cert, privateKeyPem } = await issueFor(userCa, { now: twoHoursAgo, notAfter: new Date(twoHoursAgo.getTime() + 3600_000) });
    const before = server.views.length;
    await connect(server.port, { ca: hostCa.certPem, key: privateKeyPem, cert: cert.pem });
    expect(server.views[before]?.authorized).toBe(false);
    expect(server.views[before]?.authorizationError).toBe('CERT_HAS_EXPIRED');
  });

  test('a task certificate from another CA: UNABLE_TO_VERIFY_LEAF_SIGNATURE', async () => {
    const { cert, privateKeyPem } = await issueFor(await newCa('user', 'tls-other'));
    const before = server.views.length;
    await connect(server.port, { ca: hostCa.certPem, key: privateKeyPem, cert: cert.pem });
    expect(server.views[before]?.authorized).toBe(false);
    expect(server.views[before]?.authorizationError).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  test('a task certificate from a CA of the same name but another key is not authorized', async () => {
    const { cert, privateKeyPem } = await issueFor(await newCa('user', 'tls'));
    const before = server.views.length;
    await connect(server.port, { ca: hostCa.certPem, key: privateKeyPem, cert: cert.pem });
    expect(server.views[before]?.authorized).toBe(false);
    expect(server.views[before]?.authorizationError).toBeDefined();
  });

  test('a server certificate cannot be used to log in, even where its CA is trusted', async () => {
    const trustsBoth = await startServer(serverCert, userCa.certPem + hostCa.certPem);
    const stolen = await hostCa.issueServerCert({ hosts: ['localhost'], ttlMs: 3600_000 });
    await connect(trustsBoth.port, { ca: hostCa.certPem, key: stolen.keyPem, cert: stolen.certPem });
    expect(trustsBoth.views[0]?.authorized).toBe(false);
    expect(trustsBoth.views[0]?.authorizationError).toBe('INVALID_PURPOSE');
  });

  test('the client refuses a server certificate not signed by the host CA', async () => {
    const impostor = await startServer(await (await newCa('host', 'tls-other')).issueServerCert({ hosts: ['127.0.0.1'], ttlMs: 3600_000 }));
    const { cert, privateKeyPem } = await issueFor(userCa);
    expect(await connect(impostor.port, { ca: hostCa.certPem, key: privateKeyPem, cert: cert.pem })).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  test('the client refuses a task certificate presented as a server certificate', async () => {
    const { cert, privateKeyPem } = await issueFor(userCa);
    const posing = await startServer({ certPem: cert.pem, keyPem: privateKeyPem });
    expect(await connect(posing.port, { ca: userCa.certPem, servername: 'localhost', checkServerIdentity: () => undefined })).toBe('INVALID_PURPOSE');
  });

  test('the IP SAN matches 127.0.0.1 and the DNS SAN matches localhost; other names are refused', async () => {
    const { cert, privateKeyPem } = await issueFor(userCa);
    const client = { ca: hostCa.certPem, key: privateKeyPem, cert: cert.pem };
    expect(await connect(server.port, client)).toBeUndefined(); // by IP: checked against the IP SAN
    expect(await connect(server.port, { ...client, servername: 'localhost' })).toBeUndefined();
    expect(await connect(server.port, { ...client, servername: 'gateway.example.com' })).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    const dnsOnly = await startServer(await hostCa.issueServerCert({ hosts: ['localhost'], ttlMs: 3600_000 }));
    expect(await connect(dnsOnly.port, client)).toBe('ERR_TLS_CERT_ALTNAME_INVALID'); // no IP SAN for 127.0.0.1
    expect(await connect(dnsOnly.port, { ...client, servername: 'localhost' })).toBeUndefined();
  });
});
