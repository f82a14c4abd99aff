// A dev cluster (control plane + gateway + built-in IdP) on the run's shared PostgreSQL, and the real CLI
// driven as a user runs it: `node bin/agentdb.js ...` in child processes with their own AGENTDB_HOME.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { inject } from 'vitest';
import { startDevCluster, type Config, type DevCluster } from '../../src/server/index.js';
import type { ProxyInfo } from '../../src/client/index.js';
import { runCollecting } from './spawn.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(REPO, 'bin/agentdb.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestCluster {
  cluster: DevCluster;
  /** the sample database's name inside PostgreSQL (unique per suite) */
  database: string;
  dataDir: string;
  newHome(): Promise<string>;
  close(): Promise<void>;
}

let counter = 0;

export async function startTestCluster(name: string, configure?: (config: Config) => void, options: { provisionAgent?: boolean } = {}): Promise<TestCluster> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `agentdb-${name}-`));
  const database = `${name.replace(/[^a-z0-9]/g, '_')}_${process.pid}_${counter++}`;
  const cluster = await startDevCluster({ dataDir, version: 'test', adminUrl: inject('pgAdminUrl'), databaseName: database, ...(configure ? { configure } : {}), ...options });
  const homes: string[] = [];
  return {
    cluster,
    database,
    dataDir,
    async newHome() {
      const home = await mkdtemp(path.join(tmpdir(), `agentdb-home-${name}-`));
      homes.push(home);
      return home;
    },
    async close() {
      await cluster.close();
      for (const h of [dataDir, ...homes]) await rm(h, { recursive: true, force: true });
    },
  };
}

export function cliEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, AGENTDB_HOME: home, AGENTDB_KEYSTORE: 'file', NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
}

/** Runs the CLI to completion. */
export function agentdb(home: string, args: string[], extraEnv: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  return runCollecting(process.execPath, [BIN, ...args], { env: cliEnv(home, extraEnv), timeoutMs });
}

/** A long-running CLI command (proxy, login waiting for the browser): lines of stdout as they come. */
export class CliProcess {
  readonly child: ChildProcess;
  private lines: string[] = [];
  private waiters: (() => void)[] = [];
  stderr = '';
  readonly exited: Promise<number>;

  constructor(home: string, args: string[], extraEnv: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(home, extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      this.lines.push(l);
      this.waiters.splice(0).forEach((w) => w());
    });
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    // 'close' comes after stdout and stderr are drained, so a failure's message is never lost.
    this.exited = new Promise((resolve) => this.child.once('close', (code) => {
      this.waiters.splice(0).forEach((w) => w());
      resolve(code ?? -1);
    }));
  }

  get output(): string[] {
    return this.lines;
  }

  /** Waits for a stdout line matching `re`; fails with what the command printed if it exits or times out first. */
  async waitForLine(re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const l of this.lines) {
        const m = l.match(re);
        if (m) return m;
      }
      if (this.child.exitCode !== null || Date.now() > deadline) {
        if (this.child.exitCode !== null) await this.exited;
        throw new Error(`no line matching ${re} (exit ${this.child.exitCode}); stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Logs a home in as the demo agent (client credentials). */
export async function loginAgent(tc: TestCluster, home: string, clientId = 'demo-agent'): Promise<void> {
  const c = tc.cluster.info.clients.find((x) => x.id === clientId)!;
  const r = await agentdb(home, ['login', '--server', tc.cluster.info.server, '--ca-file', tc.cluster.info.caFile, '--client-id', c.id, '--client-secret-env', 'CLIENT_SECRET'], { CLIENT_SECRET: c.secret });
  if (r.code !== 0) throw new Error(`login failed (${r.code}): ${r.stderr}`);
}

/** The ready line of `agentdb proxy --format json`: the running proxy's fields, less the database name. */
export type ProxyReady = Omit<ProxyInfo, 'dbName'>;

/** Starts `agentdb proxy --format json` and waits for its ready line. */
export async function startProxyCli(home: string, args: string[]): Promise<{ proc: CliProcess; ready: ProxyReady }> {
  const proc = new CliProcess(home, ['proxy', '--format', 'json', ...args]);
  const m = await proc.waitForLine(/^\{.*"port".*\}$/);
  return { proc, ready: JSON.parse(m[0]) as ProxyReady };
}

/** Logs a home in as alice through the device code flow, completed as a browser would. */
export async function loginAlice(tc: TestCluster, home: string): Promise<CliProcess> {
  const { completeDeviceLogin } = await import('./browser.js');
  const info = tc.cluster.info;
  const proc = new CliProcess(home, ['login', '--server', info.server, '--ca-file', info.caFile]);
  const url = (await proc.waitForLine(/open (\S+)/))[1]!;
  const code = (await proc.waitForLine(/shows the code (\S+)/))[1]!;
  const alice = info.users.find((u) => u.name === 'alice')!;
  await completeDeviceLogin(url, code, alice.name, alice.password);
  const exit = await proc.exited;
  if (exit !== 0) throw new Error(`alice's login failed (${exit}): ${proc.stderr}`);
  return proc;
}

/** Polls until `fn` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
