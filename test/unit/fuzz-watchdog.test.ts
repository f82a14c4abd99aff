// The fuzz harness's hang detector (test/fuzz/watchdog.ts), in a child process of its own: a run that loops
// forever is reported with its replay seed and the process killed; one that keeps beating is left alone.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';

const WATCHDOG = new URL('../fuzz/watchdog.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'fuzz-watchdog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `body` after starting a watchdog for target "t", seed 7, a 1-second limit. */
function child(body: string, report: string) {
  const code = `import { startWatchdog } from ${JSON.stringify(WATCHDOG)};\nconst w = startWatchdog('t', 7, 1, ${JSON.stringify(report)});\n${body}`;
  // Node 24 strips the types of watchdog.ts itself.
  return spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
}

describe('fuzz watchdog', () => {
  test('a run that stops beating is reported with its replay seed and the process is killed', () => {
    const report = join(dir, 'hang.jsonl');
    const r = child('w.beat(); w.beat(); for (;;) {}', report);
    expect(r.signal).toBe('SIGKILL');
    expect(r.stderr).toContain('HANG: fuzz target t made no progress for 1 s in run 1 (replay: FUZZ_TARGET=t FUZZ_SEED=7 FUZZ_PATH=1)');
    expect(JSON.parse(readFileSync(report, 'utf8'))).toEqual({ target: 't', hang: true, run: 1, seed: 7 });
  });

  test('runs that keep beating, then a stop: a normal exit', () => {
    const report = join(dir, 'ok.jsonl');
    const r = child('const end = Date.now() + 2500; while (Date.now() < end) { w.beat(); for (let i = 0; i < 1e5; i++); }\nawait w.stop();', report);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain('HANG');
  });
});
