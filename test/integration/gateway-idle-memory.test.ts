// What an idle session keeps (issue #13): nothing that pins one of Node's shared 64 KiB Buffer pool slabs for the
// session's lifetime, and the ALPN answers the gateway gave before it selected ALPN with a callback.
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { connectBackend } from '../../src/gateway/backend.js';
import type { CertificateAuthority } from '../../src/ca/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { clusterUserCa, issueTaskCert, type ClientCert } from '../helpers/task-certs.js';
import { Wire, rowsOf } from '../helpers/wire.js';

let tc: TestCluster;
let userCa: CertificateAuthority;
let cert: ClientCert;

beforeAll(async () => {
  tc = await startTestCluster('gwidle');
  userCa = await clusterUserCa(tc);
  cert = await issueTaskCert(tc, userCa, { identity: 'idle-tester' });
});
afterAll(async () => {
  await tc?.close();
});

const gw = () => tc.cluster.info.gateway;
const login = () => ({ user: 'app_rw', database: tc.database });

describe('backend key', () => {
  test.each([0, 2])('protocol 3.%i: the secret is a Buffer of its own, not a slice of a pool slab', async (minor) => {
    const url = new URL(inject('pgAdminUrl'));
    const conn = await connectBackend(
      { host: url.hostname, port: Number(url.port), sslmode: 'disable' },
      { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), database: 'postgres', params: {}, minor },
    );
    try {
      expect(conn.secret.length).toBeGreaterThanOrEqual(4);
      // A pooled copy would sit at some offset of a Buffer.poolSize ArrayBuffer, which the session would keep whole.
      expect(conn.secret.buffer.byteLength).toBe(conn.secret.length);
      expect(conn.secret.byteOffset).toBe(0);
    } finally {
      conn.socket.destroy();
    }
  });
});

describe('ALPN after SSLRequest', () => {
  test('"postgresql" offered: selected, and the session works', async () => {
    const w = await Wire.tls(gw(), cert);
    expect((w.socket as tls.TLSSocket).alpnProtocol).toBe('postgresql');
    expect((await w.startup(login(), 2)).error).toBeUndefined();
    expect(rowsOf(await w.query("SELECT 'alpn'"))).toEqual([['alpn']]);
    w.close();
  });

  test('no ALPN offered (libpq before 17): none selected, and the session works', async () => {
    const w = await Wire.tls(gw(), cert, { alpn: [] });
    expect((w.socket as tls.TLSSocket).alpnProtocol).toBe(false);
    expect((await w.startup(login(), 0)).error).toBeUndefined();
    expect(rowsOf(await w.query('SELECT 1'))).toEqual([['1']]);
    w.close();
  });

  test('only other protocols offered: refused in the handshake', async () => {
    await expect(Wire.tls(gw(), cert, { alpn: ['http/1.1'] })).rejects.toThrow(/alert|ALPN|socket|reset|closed/i);
  });
});
