// Shared set-up for the certificate authority tests (test/unit/ca-*.test.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { CaError, CertificateAuthority, generateClientKey } from '../../src/ca/index.js';
import type { TaskCertPayload, TaskCertificate } from '../../src/ca/index.js';

const made: string[] = [];
afterAll(async () => {
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh temporary directory, removed after the file's tests. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'agentdb-ca-'));
  made.push(dir);
  return dir;
}

export function samplePayload(overrides: Partial<TaskCertPayload> = {}): TaskCertPayload {
  return {
    kind: 'agent',
    task: { id: 'task-42', reason: 'fix the failing invoice export' },
    requester: 'alice@example.com',
    roles: ['support-readonly'],
    db: { service: 'customers', names: ['customers'], users: ['readonly'] },
    traits: { team: ['billing'], region: ['eu', 'us'] },
    loginSession: 'ls-0001',
    ...overrides,
  };
}

export const inOneHour = () => new Date(Date.now() + 60 * 60 * 1000);

export async function newCa(name: 'user' | 'host', clusterName = 'test-cluster'): Promise<CertificateAuthority> {
  return CertificateAuthority.loadOrCreate(await tempDir(), name, clusterName);
}

/** A client key pair and a task certificate for it. */
export async function issueFor(
  ca: CertificateAuthority,
  opts: { identity?: string; payload?: TaskCertPayload; notAfter?: Date; now?: Date } = {},
): Promise<{ cert: TaskCertificate; privateKeyPem: string }> {
  const identity = opts.identity ?? 'agent-7';
  const key = await generateClientKey();
  const cert = await ca.issueTaskCert({
    csrPem: await key.csr(identity),
    identity,
    payload: opts.payload ?? samplePayload(),
    notAfter: opts.notAfter ?? inOneHour(),
    ...(opts.now ? { now: opts.now } : {}),
  });
  return { cert, privateKeyPem: key.privateKeyPem };
}

/** Runs `fn` and requires it to fail with a CaError of `code` (sync throw or rejected promise). */
export async function expectCaError(fn: () => unknown, code: string): Promise<CaError> {
  let failure: unknown;
  try {
    await fn();
  } catch (error) {
    failure = error;
  }
  expect(failure, `expected CaError ${code}`).toBeInstanceOf(CaError);
  expect((failure as CaError).code).toBe(code);
  expect((failure as CaError).message.length).toBeGreaterThan(10);
  return failure as CaError;
}
