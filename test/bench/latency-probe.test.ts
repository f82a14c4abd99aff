// Scratch probe (not part of the suite): single-client SELECT 1 latency through the gateway, in-process.
import { test } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, startDevCluster } from '../../src/server/index.js';
import { CertificateAuthority, generateClientKey } from '../../src/ca/index.js';

test('probe', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'probe-'));
  const pgs = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), fast: true });
  const cluster = await startDevCluster({ dataDir: path.join(dir, 'c'), version: 'p', adminUrl: pgs.adminUrl(), configure: (c) => { delete c.roles['demo-agent']!.budget; } });
  const ca = await CertificateAuthority.loadOrCreate(path.join(dir, 'c'), 'user', 'agentdb-dev');
  const key = await generateClientKey();
  const store = cluster.server.store;
  await store.putLoginSession({ id: 'probe', secretHash: 'x', identity: {}, createdAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 3600e3).toISOString() });
  const cert = await ca.issueTaskCert({ csrPem: await key.csr('probe'), identity: 'probe', notAfter: new Date(Date.now() + 3600e3),
    payload: { kind: 'human', task: { id: 't1', reason: 'probe' }, requester: 'probe', roles: ['support'], db: { service: 'customers', names: ['customers'], users: ['app_rw'] }, traits: {}, loginSession: 'probe' } });
  const caPem = (await import('node:fs')).readFileSync(cluster.info.caFile, 'utf8');
  const gw = new pg.Client({ host: cluster.info.gateway.host, port: cluster.info.gateway.port, user: 'app_rw', database: 'customers', ssl: { ca: caPem, cert: cert.pem, key: key.privateKeyPem } });
  await gw.connect();
  const direct = new pg.Client({ connectionString: pgs.adminUrl('customers') });
  await direct.connect();
  for (const [name, c] of [['direct', direct], ['gateway', gw], ['direct', direct], ['gateway', gw]] as const) {
    for (let i = 0; i < 300; i++) await c.query('SELECT 1');
    const t: number[] = [];
    for (let i = 0; i < 3000; i++) { const s = performance.now(); await c.query('SELECT 1'); t.push(performance.now() - s); }
    t.sort((a, b) => a - b);
    console.log(name, 'p50', (t[1500]! * 1000).toFixed(0), 'us p99', (t[2970]! * 1000).toFixed(0));
  }
  await gw.end(); await direct.end(); await cluster.close(); await pgs.stop();
}, 300_000);
