// Runs the CLI with its stdout going to a file instead of a pipe. The launcher ends with process.exit(), which
// drops whatever a pipe had not taken yet: a JSON answer larger than the pipe's 64 KiB buffer (audit search,
// play of a long session) arrives cut short when the reader is slower than the writer. Writes to a file are
// synchronous in Node, so nothing is lost.
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO, cliEnv, type CliResult } from './cluster.js';
import { runCollecting } from './spawn.js';

const BIN = path.join(REPO, 'bin/agentdb.js');

export async function agentdbToFile(home: string, args: string[], timeoutMs = 60_000): Promise<CliResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'agentdb-cli-out-'));
  const file = path.join(dir, 'stdout');
  const out = await open(file, 'w');
  try {
    const { code, stderr } = await runCollecting(process.execPath, [BIN, ...args], { env: cliEnv(home), timeoutMs, stdoutFd: out.fd });
    return { code, stdout: await readFile(file, 'utf8'), stderr };
  } finally {
    await out.close();
    await rm(dir, { recursive: true, force: true });
  }
}
