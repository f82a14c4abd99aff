// Every statement of test/fixtures/policy-corpus.yaml, decided with the demo roles exactly as `agentdb demo`
// configures them. A string of several statements gets the strictest decision of its statements.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { analyze, compilePolicy, loadParser, roleSchema, type CompiledPolicy } from '../../src/policy/index.js';
import { demoRoles } from '../../src/server/dev/demo-roles.js';

const entrySchema = z.object({ sql: z.string(), expect: z.enum(['allow', 'deny', 'review']), why: z.string().optional() }).strict();
const corpus = z.array(entrySchema).parse(parse(readFileSync(new URL('../fixtures/policy-corpus.yaml', import.meta.url), 'utf8')));
const agent = { name: 'demo-agent', kind: 'agent', roles: ['demo-agent'] };
let policy: CompiledPolicy;

beforeAll(async () => {
  await loadParser();
  policy = compilePolicy(z.record(z.string(), roleSchema).parse(demoRoles('customers')));
});

describe('the corpus itself', () => {
  test('has at least 150 distinct statements and every decision', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(150);
    expect(new Set(corpus.map((e) => e.sql)).size).toBe(corpus.length);
    for (const d of ['allow', 'deny', 'review'] as const) expect(corpus.filter((e) => e.expect === d).length).toBeGreaterThan(5);
  });
});

describe('demo-agent decisions', () => {
  test.each(corpus.map((e) => [e.sql.replace(/\s+/g, ' ').slice(0, 110) || '(empty)', e] as const))('%s', (_name, entry) => {
    const d = policy.decideAnalysis(agent, analyze(entry.sql));
    const context = `${entry.sql}\n  -> ${d.decision} by ${d.rule}: ${d.message ?? ''}${entry.why ? `\n  expected because: ${entry.why}` : ''}`;
    expect(d.decision, context).toBe(entry.expect);
    // A refusal or a hold always says why, and names what decided it.
    if (d.decision !== 'allow') {
      expect(d.rule).toBeTruthy();
      expect(d.message).toBeTruthy();
    }
  });
});

describe('decision cost', () => {
  test('is logged for cached and uncached statements (no assertion: a measurement)', () => {
    const texts = corpus.map((e) => e.sql);
    const decideText = (sql: string) => policy.decideAnalysis(agent, analyze(sql));
    for (const t of texts) decideText(t); // warm: parse cache, rule sets, JIT
    const rounds = 20;
    let t0 = performance.now();
    for (let r = 0; r < rounds; r++) for (const t of texts) decideText(t);
    const cached = ((performance.now() - t0) * 1000) / (rounds * texts.length);
    t0 = performance.now();
    for (let r = 0; r < 3; r++) texts.forEach((t, i) => decideText(`${t}\n-- uncached ${r}.${i}`));
    const uncached = ((performance.now() - t0) * 1000) / (3 * texts.length);
    // The rules alone, on an analysis already in hand, with the per-statement memo defeated by fresh role sets.
    const stmts = texts.flatMap((t) => analyze(t).statements);
    const fresh = compilePolicy(z.record(z.string(), roleSchema).parse(demoRoles('customers')));
    t0 = performance.now();
    for (const s of stmts) fresh.decide(agent, s);
    const rulesOnly = ((performance.now() - t0) * 1000) / stmts.length;
    console.log(
      `policy decision cost over ${texts.length} corpus strings: cached ${cached.toFixed(2)} µs/op, ` +
        `uncached (parse + analyse + decide) ${uncached.toFixed(1)} µs/op, rules only (first decision of a statement) ${rulesOnly.toFixed(2)} µs/op`,
    );
  });
});
