// The configuration examples in the README are real: each must pass the server's own config validation.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/server/index.js';

const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

const BASE = {
  auth: { oidc: { issuer: 'https://login.example.com/', clientId: 'agentdb', audience: 'api://agentdb' } },
  databases: { 'orders-db': { credentials: { order_agent: { passwordEnv: 'X' } } } },
};

describe('README configuration examples', () => {
  test('there are some', () => expect(blocks.length).toBeGreaterThanOrEqual(2));
  blocks.forEach((text, i) => {
    test(`example ${i + 1} validates`, () => {
      const doc = parse(text) as Record<string, unknown>;
      // A fragment (only roles) is checked inside a minimal config around it.
      const full = doc.auth ? doc : { ...BASE, ...doc };
      expect(() => parseConfig(JSON.stringify(full), `README example ${i + 1}`)).not.toThrow();
    });
  });
});
