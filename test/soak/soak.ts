// The soak: a bounded load on loopback against a real agentdb server (its own process) and `agentdb proxy`
// processes, for a fixed time, with a report every few seconds and a verdict at the end. README "Reliability:
// soak" says what is run and what must hold; `npm run soak` and test/e2e/soak.test.ts call runSoak.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type DevInfo } from '../../src/server/index.js';
import { loginAgent, taskCertFiles } from '../bench/agent-access.js';
import { loginAlice, startProxyCli, type CliProcess, type TestCluster } from '../helpers/cluster.js';
import { FDS_RULE, HEAP_RULE, RSS_RULE, flatness, type Flatness } from './flatness.ts';
import { sampleProcess, type ProcessSample } from './process-stats.ts';
import { startReviewer } from './reviewer.ts';
import { startSoakServer } from './server-handle.ts';
import { Gate, canceled, held, idle, masked, prepared, read, runSlot, write, type Endpoint, type SlotContext } from './sessions.ts';
import { Tally, type SoakError } from './tally.ts';

export interface SoakOptions {
  /** session slots held open together; each reconnects when its session ends */
  sessions: number;
  minutes: number;
  reportEverySeconds: number;
  /** where the results go as JSON (soak-results.json), if anywhere */
  resultsFile?: string;
  log(line: string): void;
}

export interface Sample {
  /** seconds since the load started */
  t: number;
  open: number;
  statements: number;
  errors: number;
  processes: Record<string, ProcessSample>;
  /** the server's live JS heap and Buffers after a full garbage collection, bytes */
  serverHeap: number;
}

export interface SoakResult {
  options: { sessions: number; minutes: number; reportEverySeconds: number };
  slots: Record<string, number>;
  sessionsOpened: number;
  statements: Record<string, number> & { total: number };
  idlePeriods: number;
  cancels: { sent: number; slowestMs: number };
  reviews: { approved: number; denied: number };
  errors: SoakError[];
  /** per task reason: statements the driver had answered, and the audit events stored for them */
  audit: Record<string, { statements: number; events: Record<string, number> }>;
  auditMatches: boolean;
  warmupSeconds: number;
  /** the most sessions open at once, and when 90 % of the slots first were (seconds; undefined: never, and the
   *  run is not a soak of that many sessions) */
  peakOpen: number;
  fullAt: number | undefined;
  flat: Record<string, { rss: Flatness; fds: Flatness; heap?: Flatness }>;
  samples: Sample[];
  ok: boolean;
}

/** The longest the soak waits for 90 % of its slots to be open together before its clock starts anyway. */
const RAMP_LIMIT_MS = 5 * 60_000;
/** Connection attempts in flight at most (a pool's ramp-up; see SlotContext.connecting). */
const CONNECTING = 16;
/** Share of slots that are a person canceling pg_sleep (agents may not sleep: agent-safe:no-sleep). */
const PERSON_SHARE = 0.05;
/** Of the agent's slots, the share that goes through `agentdb proxy`; the rest present the certificate themselves. */
const PROXY_SHARE = 0.6;

/** The person (alice, device login) whose sessions run pg_sleep; loginAlice reads only the cluster's info. */
const asTestCluster = (info: DevInfo) => ({ cluster: { info } }) as unknown as TestCluster;

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const runId = Math.random().toString(36).slice(2, 8);
  const reasons = { proxy: `soak ${runId} through agentdb proxy`, direct: `soak ${runId} with the task certificate`, person: `soak ${runId} pg_sleep canceled` };
  const dir = await mkdtemp(path.join(tmpdir(), 'agentdb-soak-'));
  const stops: (() => Promise<unknown>)[] = [];
  try {
    // A PostgreSQL of its own: one backend per session, and nobody else's sessions in the way.
    const postgres = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), fast: true, settings: { max_connections: opts.sessions + 100 } });
    stops.push(() => postgres.stop());
    const server = await startSoakServer({ adminUrl: postgres.adminUrl(), databaseName: 'soak', dataDir: path.join(dir, 'server'), sessions: opts.sessions });
    stops.push(() => server.stop());
    const info = server.info;
    const dbName = new URL(info.databases[0]!.adminUrl).pathname.slice(1);
    const clearEmails = await prepareDatabase(info.databases[0]!.adminUrl);

    const agent = await loginAgent(info, path.join(dir, 'agent-home'));
    const agentProxy = await startProxyCli(agent.home, ['--db', 'customers', '--task', reasons.proxy, '--ttl', '1h']);
    stops.push(() => agentProxy.proc.stop());
    const cert = await taskCertFiles(agent, { db: 'customers', dbUser: 'app_rw', dbName, task: reasons.direct, ttl: '1h' });
    stops.push(() => cert.remove());
    const aliceHome = path.join(dir, 'alice-home');
    await loginAlice(asTestCluster(info), aliceHome);
    const personProxy = await startProxyCli(aliceHome, ['--db', 'customers', '--db-user', 'app_ro', '--task', reasons.person, '--ttl', '1h']);
    stops.push(() => personProxy.proc.stop());

    const tally = new Tally();
    const reviewer = await startReviewer(info, tally);
    stops.push(() => reviewer.stop());

    const agentActions: Endpoint['actions'] = [[read, 30], [write, 20], [prepared, 20], [masked, 15], [idle, 8], [held, 1]];
    const endpoints: Record<string, Endpoint> = {
      proxy: { name: 'agent via agentdb proxy', reason: reasons.proxy, client: () => ({ connectionString: agentProxy.ready.url }), cancelTo: agentProxy.ready, actions: agentActions },
      direct: {
        name: 'agent with its certificate',
        reason: reasons.direct,
        client: () => ({ host: info.gateway.host, port: info.gateway.port, user: 'app_rw', database: dbName, ssl: { ca: cert.caPem, cert: cert.certPem, key: cert.keyPem } }),
        cancelTo: info.gateway,
        actions: agentActions,
      },
      person: { name: 'person via agentdb proxy', reason: reasons.person, client: () => ({ connectionString: personProxy.ready.url }), cancelTo: personProxy.ready, actions: [[canceled, 1], [read, 2], [idle, 1]] },
    };
    const person = Math.max(1, Math.round(opts.sessions * PERSON_SHARE));
    const viaProxy = Math.round((opts.sessions - person) * PROXY_SHARE);
    const slots = { proxy: viaProxy, direct: opts.sessions - person - viaProxy, person };
    const kinds = Object.entries(slots).flatMap(([k, n]) => Array<string>(n).fill(k));
    // Interleaved, so that the ramp-up opens each kind at the same pace.
    kinds.sort(() => Math.random() - 0.5);

    const durationMs = opts.minutes * 60_000;
    // About 150 statements a second whatever the size (more only queues on two cores), and sessions that last
    // a third of the run: every slot reconnects a few times, at a rate the gateway's logins keep up with.
    const slow = Math.max(1, opts.sessions / 200);
    const pauseMs: [number, number] = [Math.round(300 * slow), Math.round(2500 * slow)];
    const meanRounds = Math.max(5, Math.round(durationMs / 3 / ((pauseMs[0] + pauseMs[1]) / 2)));
    // The clock of the run starts once 90 % of the slots are open together (a loaded machine opens them slowly):
    // `minutes` is time under the full load, and a ramp that never gets there ends after RAMP_LIMIT_MS.
    let fullAt: number | undefined;
    let endsAt = Date.now() + RAMP_LIMIT_MS + durationMs;
    const opened = () => {
      if (fullAt !== undefined || ctx.open.n < 0.9 * opts.sessions) return;
      fullAt = Math.round((Date.now() - startedAt) / 1000);
      endsAt = Date.now() + durationMs;
    };
    const ctx: SlotContext = { tally, stopping: () => Date.now() >= endsAt, open: { n: 0 }, opened, full: () => fullAt !== undefined, clearEmails, rounds: [Math.ceil(meanRounds / 2), Math.ceil(meanRounds * 1.5)], pauseMs, connecting: new Gate(CONNECTING) };
    const rampMs = Math.min(30_000, durationMs / 10);
    // Warmed up some time after 90 % of the slots were first open together (at the latest, half way through).
    const settleSeconds = Math.max(10, durationMs / 4000);
    let peakOpen = 0;
    const startedAt = Date.now();
    opts.log(`soak: ${opts.sessions} sessions (${slots.proxy} agent via agentdb proxy, ${slots.direct} agent with the task certificate, ${slots.person} person canceling pg_sleep) for ${opts.minutes} min; ramp-up ${rampMs / 1000} s, a statement every ${pauseMs[0] / 1000}-${pauseMs[1] / 1000} s, ${ctx.rounds[0]}-${ctx.rounds[1]} per session`);

    const pids = { server: server.pid, 'agent proxy': agentProxy.proc.child.pid!, 'person proxy': personProxy.proc.child.pid! };
    const samples: Sample[] = [];
    let reported = 0;
    const sample = async () => {
      const processes: Record<string, ProcessSample> = {};
      for (const [name, pid] of Object.entries(pids)) processes[name] = await sampleProcess(pid);
      const m = await server.memory();
      const s: Sample = { t: Math.round((Date.now() - startedAt) / 1000), open: ctx.open.n, statements: tally.total, errors: tally.errors.length, processes, serverHeap: m.heapUsed + m.arrayBuffers };
      samples.push(s);
      peakOpen = Math.max(peakOpen, s.open);
      const mib = (b: number) => `${Math.round(b / 1048576)} MiB`;
      opts.log(`t=${String(s.t).padStart(4)} s  open ${String(s.open).padStart(4)}  statements ${String(s.statements).padStart(7)}  errors ${s.errors}  ` +
        Object.entries(processes).map(([n, p]) => `${n} ${mib(p.rss)} ${p.fds} fds`).join('  ') + `  server heap after GC ${mib(s.serverHeap)}`);
      // New errors as they come, the first few of each report, so a long run says what goes wrong while it runs.
      for (const e of tally.errors.slice(reported, reported + 5)) opts.log(`  error at t=${e.t} s: ${e.what}: ${e.code ? `${e.code} ` : ''}${e.message}`);
      reported = tally.errors.length;
    };
    const sampler = setInterval(() => void sample().catch((err: unknown) => tally.error('sampling', err)), opts.reportEverySeconds * 1000);

    const running = kinds.map(async (kind, i) => {
      await new Promise((r) => setTimeout(r, (i * rampMs) / kinds.length));
      await runSlot(i, endpoints[kind]!, ctx);
    });
    await Promise.all(running);
    clearInterval(sampler);
    await sample();
    await reviewer.stop();

    // db.session.end is written as each session closes: wait until every session that started has ended.
    const reasonList = Object.values(reasons);
    let counts: Record<string, Record<string, number>> = {};
    for (let i = 0; i < 30; i++) {
      counts = await server.countAudit(reasonList);
      if (reasonList.every((r) => (counts[r]!['db.session.start'] ?? 0) === (counts[r]!['db.session.end'] ?? 0))) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const audit = Object.fromEntries(Object.entries(reasons).map(([k, r]) => [k, { statements: tally.byReason.get(r) ?? 0, events: counts[r]! }]));
    const stmtEvents = (e: Record<string, number>) => (e['db.session.query'] ?? 0) + (e['db.session.denied'] ?? 0);
    const heldCount = tally.statements['held-approved'] + tally.statements['held-denied'];
    const auditMatches =
      Object.values(audit).every((a) => stmtEvents(a.events) === a.statements && (a.events['db.session.start'] ?? 0) === (a.events['db.session.end'] ?? 0)) &&
      (audit.proxy!.events['db.session.review'] ?? 0) + (audit.direct!.events['db.session.review'] ?? 0) === heldCount &&
      Object.values(audit).reduce((n, a) => n + (a.events['db.session.start'] ?? 0), 0) === tally.sessionsOpened &&
      Object.values(audit).reduce((n, a) => n + (a.events['db.session.start (failed)'] ?? 0), 0) === tally.errors.filter((e) => e.what.endsWith(': connect') && e.code === '08006').length;

    // Warmed up a quarter of the run (at least 10 s) after 90 % of the slots were first open together: the heap
    // grows to its working size meanwhile. Under full load only: the samples from then until the wind-down.
    const fullFrom = fullAt ?? RAMP_LIMIT_MS / 1000;
    const warmupSeconds = Math.round(fullFrom + settleSeconds);
    const steady = samples.filter((s) => s.t >= warmupSeconds && s.t <= fullFrom + durationMs / 1000);
    const flat = Object.fromEntries(Object.keys(pids).map((name) => [name, {
      rss: flatness(steady.map((s) => s.processes[name]!.rss), RSS_RULE),
      fds: flatness(steady.map((s) => s.processes[name]!.fds), FDS_RULE),
      ...(name === 'server' ? { heap: flatness(steady.map((s) => s.serverHeap), HEAP_RULE) } : {}),
    }]));
    const result: SoakResult = {
      options: { sessions: opts.sessions, minutes: opts.minutes, reportEverySeconds: opts.reportEverySeconds },
      slots,
      sessionsOpened: tally.sessionsOpened,
      statements: { ...tally.statements, total: tally.total },
      idlePeriods: tally.idlePeriods,
      cancels: tally.cancels,
      reviews: { approved: reviewer.approved, denied: reviewer.denied },
      errors: tally.errors,
      audit,
      auditMatches,
      warmupSeconds,
      peakOpen,
      fullAt,
      flat,
      samples,
      ok: tally.errors.length === 0 && auditMatches && fullAt !== undefined && Object.values(flat).every((f) => f.rss.ok && f.fds.ok && (f.heap?.ok ?? true)),
    };
    report(result, opts.log);
    if (opts.resultsFile) await writeFile(opts.resultsFile, JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** The soak's tables (the demo agent's extra rule names them), and the stored emails a masked read must not return. */
async function prepareDatabase(adminUrl: string): Promise<Map<number, string>> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`
      CREATE TABLE soak_writes (id bigserial PRIMARY KEY, slot int NOT NULL, n int NOT NULL, at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE soak_held (id int PRIMARY KEY, n int NOT NULL);
      INSERT INTO soak_held VALUES (1, 0);
      GRANT SELECT, INSERT, UPDATE ON soak_writes, soak_held TO app_rw;
      GRANT USAGE ON SEQUENCE soak_writes_id_seq TO app_rw;`);
    const { rows } = await admin.query<{ id: number; email: string }>('SELECT id, email FROM customers WHERE email IS NOT NULL ORDER BY id LIMIT 50');
    if (rows.length === 0) throw new Error('the sample database has no customer emails to read masked');
    return new Map(rows.map((r) => [r.id, r.email]));
  } finally {
    await admin.end();
  }
}

function report(r: SoakResult, log: (line: string) => void): void {
  const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
  log('');
  log(`soak ${r.ok ? 'PASSED' : 'FAILED'}: ${r.options.sessions} sessions, ${r.options.minutes} min, ${r.sessionsOpened} sessions opened`);
  log(`statements: ${r.statements.total} (${Object.entries(r.statements).filter(([k]) => k !== 'total').map(([k, n]) => `${k} ${n}`).join(', ')}), idle periods ${r.idlePeriods}; CancelRequests ${r.cancels.sent}, slowest cancel ${r.cancels.slowestMs} ms`);
  log(`sessions open at once: at most ${r.peakOpen}; 90 % of the slots open from t=${r.fullAt ?? 'never'} s; warmed up at t=${r.warmupSeconds} s`);
  log(`errors: ${r.errors.length}${r.errors.slice(0, 10).map((e) => `\n  t=${e.t} s ${e.what}: ${e.code ? `${e.code} ` : ''}${e.message}`).join('')}`);
  for (const [k, a] of Object.entries(r.audit)) {
    const e = a.events;
    log(`audit ${k}: statements ${a.statements}, events query ${e['db.session.query'] ?? 0} + denied ${e['db.session.denied'] ?? 0} (review ${e['db.session.review'] ?? 0}); sessions started ${e['db.session.start'] ?? 0}, ended ${e['db.session.end'] ?? 0}, logins failed ${e['db.session.start (failed)'] ?? 0}`);
  }
  log(`audit events = statements: ${r.auditMatches ? 'yes' : 'NO'}`);
  for (const [name, f] of Object.entries(r.flat)) {
    log(`${name}: RSS ${mib(f.rss.first)} -> ${mib(f.rss.last)} (bound ${mib(f.rss.bound)}) ${f.rss.ok ? 'flat' : 'GROWS'}; fds ${f.fds.first.toFixed(0)} -> ${f.fds.last.toFixed(0)} (bound ${f.fds.bound.toFixed(0)}) ${f.fds.ok ? 'flat' : 'GROW'}` +
      (f.heap ? `; heap after GC ${mib(f.heap.first)} -> ${mib(f.heap.last)} (bound ${mib(f.heap.bound)}) ${f.heap.ok ? 'flat' : 'GROWS'}` : ''));
  }
}
