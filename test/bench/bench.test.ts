// `npm run bench`: every workload in registry.ts through every path, on one machine, against a PostgreSQL
// the bench starts itself. Prints a markdown table and writes bench-results.json. Targets are reported as
// met or not; the run fails only when a workload could not be measured.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBenchEnvironment, type BenchEnv } from './environment.js';
import { WORKLOADS } from './registry.js';
import { markdown, writeReport, type BenchReport } from './report.js';
import { runWorkloads } from './runner.js';
import { readSettings } from './settings.js';

const started = Date.now();
const log = (line: string) => {
  const s = Math.round((Date.now() - started) / 1000);
  process.stdout.write(`[bench ${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`);
};

const settings = readSettings();
let env: BenchEnv | undefined;

beforeAll(async () => {
  env = await startBenchEnvironment(settings, log);
});

afterAll(async () => {
  await env?.close();
});

test('agentdb bench', async () => {
  const e = env!;
  const outcome = await runWorkloads(e, WORKLOADS, log);
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: e.machine,
    rounds: settings.rounds,
    settings: { seconds: settings.seconds, scale: settings.scale, pgbouncer: e.endpoints.some((p) => p.path === 'pgbouncer'), quick: settings.quick },
    wallSeconds: (Date.now() - started) / 1000,
    results: outcome.results,
    targets: outcome.targets,
    planned: outcome.planned,
    notes: e.notes,
    errors: outcome.errors,
  };
  await writeReport(settings.resultsFile, report);
  process.stdout.write('\n' + markdown(report, WORKLOADS) + `\nwrote ${settings.resultsFile}\n\n`);
  expect(outcome.errors, 'workloads that could not be measured').toEqual([]);
});
