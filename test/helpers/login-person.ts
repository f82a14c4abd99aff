// A person's device login, driven end to end: `agentdb login` prints the verification URL and code, and the
// browser helper signs in on the built-in IdP as that person would.
import { expect } from 'vitest';
import { completeDeviceLogin } from './browser.js';
import { CliProcess, type TestCluster } from './cluster.js';

/** Logs `home` in as the dev cluster's person (alice: a human with the support role). */
export async function loginAlice(tc: TestCluster, home: string): Promise<CliProcess> {
  const info = tc.cluster.info;
  const proc = new CliProcess(home, ['login', '--server', info.server, '--ca-file', info.caFile]);
  const url = (await proc.waitForLine(/open (\S+)/))[1]!;
  const code = (await proc.waitForLine(/shows the code (\S+)/))[1]!;
  const alice = info.users.find((u) => u.name === 'alice')!;
  await completeDeviceLogin(url, code, alice.name, alice.password);
  expect(await proc.exited, proc.stderr).toBe(0);
  return proc;
}
