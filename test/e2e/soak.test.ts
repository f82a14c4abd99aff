// The soak at CI size (200 sessions, one minute); `npm run soak -- --sessions 1000 --minutes 10` runs this same
// file at any size (test/soak/run.ts). What must hold is README "Reliability: soak": no errors, the audit's
// events equal to the statements the sessions had answered, and the server's and the proxies' RSS and open
// files flat once warmed up.
import { expect, test } from 'vitest';
import { runSoak } from '../soak/soak.ts';

const sessions = Number(process.env.SOAK_SESSIONS ?? 200);
const minutes = Number(process.env.SOAK_MINUTES ?? 1);
const reportEverySeconds = Number(process.env.SOAK_REPORT_SECONDS ?? (minutes > 2 ? 10 : 3));

test(`soak: ${sessions} sessions for ${minutes} min: no errors, audit events = statements, flat RSS and open files`, { timeout: (minutes * 60 + 600) * 1000 }, async () => {
  const r = await runSoak({
    sessions,
    minutes,
    reportEverySeconds,
    ...(process.env.SOAK_RESULTS ? { resultsFile: process.env.SOAK_RESULTS } : {}),
    log: (line) => console.log(line),
  });
  expect(r.errors).toEqual([]);
  // The load was the one asked for: 90 % of the slots open together, then `minutes` of it.
  expect(r.fullAt, `at most ${r.peakOpen} of ${sessions} sessions were ever open together`).toBeDefined();
  // Every kind of statement ran, so each path was soaked, not only the common one.
  for (const [kind, n] of Object.entries(r.statements)) expect(n, kind).toBeGreaterThan(0);
  expect(r.reviews.approved + r.reviews.denied).toBe(r.statements['held-approved'] + r.statements['held-denied']);
  for (const [k, a] of Object.entries(r.audit)) {
    expect((a.events['db.session.query'] ?? 0) + (a.events['db.session.denied'] ?? 0), `audit events of ${k}`).toBe(a.statements);
    expect(a.events['db.session.end'], `sessions ended of ${k}`).toBe(a.events['db.session.start']);
  }
  expect(r.auditMatches).toBe(true);
  for (const [name, f] of Object.entries(r.flat)) {
    expect(f.rss.last, `${name} RSS (MiB ${Math.round(f.rss.first / 1048576)} -> ${Math.round(f.rss.last / 1048576)})`).toBeLessThanOrEqual(f.rss.bound);
    expect(f.fds.last, `${name} open files (${Math.round(f.fds.first)} -> ${Math.round(f.fds.last)})`).toBeLessThanOrEqual(f.fds.bound);
    if (f.heap) expect(f.heap.last, `${name} heap after GC (MiB ${Math.round(f.heap.first / 1048576)} -> ${Math.round(f.heap.last / 1048576)})`).toBeLessThanOrEqual(f.heap.bound);
  }
  expect(r.ok).toBe(true);
});
