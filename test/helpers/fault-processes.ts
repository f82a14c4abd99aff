// For the fault tests: the real CLI started as a long-running server (`server --dev`, `demo`) in its own
// process group, what it left on the machine (its PostgreSQL's postmaster, its ports) and its audit store read
// directly once it is down.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { AuditLog, type AuditEvent } from '../../src/audit/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import type { DevInfo } from '../../src/server/index.js';
import { cliEnv, REPO } from './cluster.js';

const BIN = path.join(REPO, 'bin/agentdb.js');

/** A CLI server process in a process group of its own (a terminal's foreground job), with its stdout lines. */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(home: string, args: string[]) {
    this.child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(home), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    createInterface({ input: this.child.stdout! }).on('line', (l) => this.lines.push(l));
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.once('close', (code, signal) => resolve({ code, signal })));
  }

  /** Waits for a stdout line matching `re`; fails with the output when the process ends first or time runs out. */
  async waitFor(re: RegExp, timeoutMs = 180_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find((l) => re.test(l));
      if (hit !== undefined) return hit;
      if (this.child.exitCode !== null || this.child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`no line matching ${re} (exit ${this.child.exitCode ?? this.child.signalCode}); stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Sends `signal` to the whole process group, as a terminal does on hangup. */
  signalGroup(signal: NodeJS.Signals): void {
    process.kill(-this.child.pid!, signal);
  }
}

export function readDevInfo(dataDir: string): DevInfo {
  return JSON.parse(readFileSync(path.join(dataDir, 'dev.json'), 'utf8')) as DevInfo;
}

/** The pid in a PostgreSQL data dir's postmaster.pid, or undefined when there is no such file. */
export function postmasterPid(pgData: string): number | undefined {
  const file = path.join(pgData, 'postmaster.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : undefined;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when nothing listens on 127.0.0.1:port (binding it succeeds). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** The ports a dev cluster's dev.json names: API, gateway, IdP, PostgreSQL. */
export function devPorts(info: DevInfo): number[] {
  return [Number(new URL(info.server).port), info.gateway.port, Number(new URL(info.issuer).port), Number(new URL(info.databases[0]!.adminUrl).port)];
}

/** The audit events of a stopped server's data dir (its sqlite store), and whether the chain verifies. */
export async function readStoppedAudit(dataDir: string, type: AuditEvent['type']): Promise<{ events: AuditEvent[]; verified: boolean }> {
  const store = await openSqliteStore(path.join(dataDir, 'agentdb.db'));
  try {
    const log = await AuditLog.open(store);
    const events = await log.search({ type, limit: 1000 });
    const v = await log.verify();
    await log.close();
    return { events, verified: v.ok };
  } finally {
    await store.close();
  }
}
