// Process faults, as they happen to a user (issue #15 item 3): the server killed -9 with a session open and
// started again on the same data dir, and `agentdb demo` losing its terminal (SIGHUP). Both spawn the real CLI.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { agentdb, startProxyCli } from '../helpers/cluster.js';
import { devPorts, portFree, postmasterPid, processAlive, readDevInfo, readStoppedAudit, ServerProcess } from '../helpers/fault-processes.js';

const dirs: string[] = [];
const running: ServerProcess[] = [];

/** A data dir the postgres user can reach, so that PostgreSQL's data lives at <dir>/postgres/pgdata even as root. */
async function newDir(name: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `agentdb-faults-${name}-`));
  await chmod(dir, 0o755);
  dirs.push(dir);
  return dir;
}

function startServer(home: string, args: string[]): ServerProcess {
  const p = new ServerProcess(home, args);
  running.push(p);
  return p;
}

afterAll(async () => {
  for (const p of running) {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGINT');
      await p.exited;
    }
  }
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function loginAsAgent(home: string, dataDir: string): Promise<void> {
  const info = readDevInfo(dataDir);
  const c = info.clients.find((x) => x.id === 'demo-agent')!;
  const r = await agentdb(home, ['login', '--server', info.server, '--ca-file', info.caFile, '--client-id', c.id, '--client-secret-env', 'CLIENT_SECRET'], { CLIENT_SECRET: c.secret });
  expect(r.code, r.stderr).toBe(0);
}

describe('the server killed -9 and started again', () => {
  test('the session it left open ends in the audit as gateway-restart; its PostgreSQL is stopped and started afresh, not "already runs"', async () => {
    const dataDir = await newDir('kill9');
    const home = await newDir('kill9-home');
    const pgData = path.join(dataDir, 'postgres', 'pgdata');

    const first = startServer(home, ['server', '--dev', '--data-dir', dataDir]);
    await first.waitFor(/"ready":true/);
    await loginAsAgent(home, dataDir);
    const { proc: proxy, ready } = await startProxyCli(home, ['--db', 'customers', '--task', 'fault kill9']);
    const client = new pg.Client({ connectionString: ready.url });
    const lost = new Promise<Error>((resolve) => client.on('error', resolve));
    await client.connect();
    expect((await client.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBeGreaterThan(0);

    const leftPid = postmasterPid(pgData);
    expect(leftPid, 'the first server started its PostgreSQL').toBeGreaterThan(0);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    // What the fault leaves: the postmaster still runs on the data dir (nothing stopped it).
    expect(processAlive(leftPid!)).toBe(true);
    await client.query('SELECT 1').catch(() => undefined);
    await Promise.race([lost, new Promise((r) => setTimeout(r, 5000))]);
    await proxy.stop();

    const second = startServer(home, ['server', '--dev', '--data-dir', dataDir]);
    await second.waitFor(/"ready":true/);
    expect(second.stderr).not.toMatch(/already runs/);
    expect(processAlive(leftPid!), 'the left-over postmaster was stopped').toBe(false);
    const newPid = postmasterPid(pgData);
    expect(newPid).toBeGreaterThan(0);
    expect(newPid).not.toBe(leftPid);

    // New sessions work on the restarted server (its ports are new: log in again).
    await loginAsAgent(home, dataDir);
    const again = await startProxyCli(home, ['--db', 'customers', '--task', 'fault kill9 after']);
    const c2 = new pg.Client({ connectionString: again.ready.url });
    await c2.connect();
    expect((await c2.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await c2.end();
    await again.proc.stop();

    second.child.kill('SIGINT');
    expect((await second.exited).code).toBe(0);
    expect(processAlive(newPid!), 'a clean stop stops PostgreSQL').toBe(false);

    const starts = (await readStoppedAudit(dataDir, 'db.session.start')).events.filter((e) => e.result?.error === undefined);
    const { events: ends, verified } = await readStoppedAudit(dataDir, 'db.session.end');
    const killedTask = starts.find((e) => e.task?.reason === 'fault kill9')!;
    expect(killedTask, 'the killed session started').toBeDefined();
    const restartEnds = ends.filter((e) => e.message === 'gateway-restart');
    expect(restartEnds.map((e) => e.sid)).toEqual([killedTask.sid]);
    expect(restartEnds[0]).toMatchObject({ identity: killedTask.identity, task: killedTask.task, db: killedTask.db });
    // The session after the restart ended normally, and only once.
    const after = starts.find((e) => e.task?.reason === 'fault kill9 after')!;
    expect(ends.filter((e) => e.sid === after.sid).map((e) => e.message)).not.toContain('gateway-restart');
    expect(ends.filter((e) => e.sid === after.sid)).toHaveLength(1);
    expect(verified).toBe(true);
  }, 400_000);
});

describe('agentdb demo and its terminal', () => {
  test('SIGHUP to its process group (the terminal closed) stops the server, the IdP and PostgreSQL, frees the ports and exits 129', async () => {
    const dataDir = await newDir('hup');
    const home = await newDir('hup-home');
    const demo = startServer(home, ['demo', '--data-dir', dataDir, '--ports', '0,0,0,0']);
    await demo.waitFor(/agentdb demo is running/);
    const ports = devPorts(readDevInfo(dataDir));
    const pid = postmasterPid(path.join(dataDir, 'postgres', 'pgdata'))!;
    expect(processAlive(pid)).toBe(true);
    for (const p of ports) expect(await portFree(p), `port ${p} in use while the demo runs`).toBe(false);

    demo.signalGroup('SIGHUP');
    const { code, signal } = await demo.exited;
    expect({ code, signal }, demo.stderr).toEqual({ code: 129, signal: null });
    expect(processAlive(pid), 'no postgres of the demo remains').toBe(false);
    expect(postmasterPid(path.join(dataDir, 'postgres', 'pgdata'))).toBeUndefined();
    for (const p of ports) expect(await portFree(p), `port ${p} freed`).toBe(true);
  }, 300_000);
});
