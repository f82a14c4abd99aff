// bench-results.json and the markdown table printed at the end of a run.
import { writeFile } from 'node:fs/promises';
import { PATH_LABELS } from './paths.js';
import { fmt, type RunOutcome } from './runner.js';
import type { Workload } from './workload.js';

export interface Machine {
  cpus: number;
  cpuModel: string;
  node: string;
  postgres: string;
}

export interface BenchReport {
  date: string;
  machine: Machine;
  rounds: number;
  settings: { seconds: number; scale: number; pgbouncer: boolean; quick: boolean };
  wallSeconds: number;
  results: RunOutcome['results'];
  targets: RunOutcome['targets'];
  planned: RunOutcome['planned'];
  notes: string[];
  errors: string[];
}

export async function writeReport(file: string, report: BenchReport): Promise<void> {
  await writeFile(file, JSON.stringify(report, null, 2) + '\n');
}

const seriesLabel = (s: string): string => {
  const m = /^(\w+)([/-])(\w+)$/.exec(s);
  if (!m) return s;
  return m[2] === '/' ? `${m[1]} / ${m[3]}` : `${m[1]} added over ${m[3]}`;
};

export function markdown(report: BenchReport, workloads: readonly Workload[]): string {
  const m = report.machine;
  const lines: string[] = [
    `## agentdb bench, ${report.date}`,
    '',
    `${m.cpus} x ${m.cpuModel}; Node ${m.node}; ${m.postgres}. ${report.settings.quick ? 'Quick mode (AGENTDB_BENCH_QUICK=1). ' : ''}${report.rounds} rounds, paths alternating; median with min and max over the rounds. ` +
      `pgbench scale ${report.settings.scale}, ${report.settings.seconds} s per TPS run. Wall time ${report.wallSeconds.toFixed(0)} s.`,
    '',
    '| workload | figure | median | min | max | unit |',
    '| --- | --- | ---: | ---: | ---: | --- |',
  ];
  const titles = new Map(workloads.map((w) => [w.id, w.title]));
  for (const [figure, series] of Object.entries(report.results)) {
    const title = titles.get(figure) ?? titles.get(figure.replace(/-(p\d+|cpu)$/, '')) ?? figure;
    const suffix = /-(p\d+|cpu)$/.exec(figure)?.[1];
    for (const [name, s] of Object.entries(series)) {
      lines.push(`| ${title}${suffix ? ` (${suffix})` : ''} | ${seriesLabel(name)} | ${fmt(s.median)} | ${fmt(s.min)} | ${fmt(s.max)} | ${s.unit} |`);
    }
  }
  for (const p of report.planned) lines.push(`| ${p.title} | (planned) | - | - | - | ${p.note} |`);
  lines.push('', '| target | wanted | measured | met |', '| --- | ---: | ---: | --- |');
  for (const t of report.targets) {
    const wanted = t.target === null ? '-' : `${t.op} ${fmt(t.target)} ${t.unit}`;
    const measured = t.measured === null ? '-' : `${fmt(t.measured)} ${t.unit}`;
    const met = t.met === null ? `n/a (${t.note})` : t.met ? 'yes' : 'NO';
    lines.push(`| ${t.name} | ${wanted} | ${measured} | ${met} |`);
  }
  lines.push('', 'Paths:', ...Object.entries(PATH_LABELS).map(([k, v]) => `- ${k}: ${v}`));
  if (report.notes.length) lines.push('', 'Notes:', ...report.notes.map((n) => `- ${n}`));
  if (report.errors.length) lines.push('', 'FAILED:', ...report.errors.map((e) => `- ${e}`));
  return lines.join('\n') + '\n';
}
