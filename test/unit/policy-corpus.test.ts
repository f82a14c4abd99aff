// Every statement of test/fixtures/policy-corpus.yaml, decided with the demo roles exactly as `agentdb demo`
// configures them. A string of several statements gets the strictest decision of its statements.
// What a decision costs is measured by the bench's `policy-decision` row (test/bench/workloads/planned.ts).
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
