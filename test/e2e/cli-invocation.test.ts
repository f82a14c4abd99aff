// The commands the README shows run this checkout's CLI and nothing from the registry: the npm name `agentdb`
// belongs to an unrelated package, so the package is scoped, the README never says `npx agentdb`, and
// `npm run -s agentdb --` works from outside the checkout without a word of npm noise.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { REPO } from '../helpers/cluster.js';

const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string> };
const outside = mkdtempSync(path.join(tmpdir(), 'agentdb-outside-'));
afterAll(() => rmSync(outside, { recursive: true, force: true }));

describe('the CLI as the README runs it', () => {
  test('the package has a name of our own and still installs the `agentdb` binary', () => {
    expect(pkg.name).toBe('@agentdb/cli');
    expect(Object.keys(pkg.bin)).toEqual(['agentdb']);
  });

  test('the README never tells anyone to run `npx agentdb`', () => {
    const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const commands = readme.split('\n').filter((l) => /^\s*(\$ )?npx\s+(--\S+\s+)*agentdb\b/.test(l));
    expect(commands).toEqual([]);
  });

  test('npm run -s agentdb -- from a directory outside the checkout prints our version and nothing else', () => {
    const r = spawnSync('npm', ['run', '-s', '--prefix', REPO, 'agentdb', '--', '--version'], { cwd: outside, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
    expect(r.stderr).toBe('');
  });

  test('bin/agentdb.js under the system Node (whatever its version) runs this CLI', () => {
    const systemNode = spawnSync('sh', ['-c', 'command -v node'], { encoding: 'utf8', env: { PATH: '/usr/local/bin:/usr/bin:/bin' } }).stdout.trim();
    const node = systemNode || process.execPath;
    const out = execFileSync(node, [path.join(REPO, 'bin/agentdb.js'), '--version'], { cwd: outside, encoding: 'utf8', env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: outside } });
    expect(out.trim()).toBe(pkg.version);
  });
});
