// One real PostgreSQL (SCRAM auth) for the whole test run; suites create their own databases in it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/server/dev/embedded-postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgPort: number;
    pgPassword: string;
  }
}

let pg: RunningPostgres | undefined;
let dir = '';

export async function setup(project: TestProject): Promise<void> {
  dir = await mkdtemp(path.join(tmpdir(), 'agentdb-test-pg-'));
  pg = await startEmbeddedPostgres({ dir, fast: true });
  project.provide('pgAdminUrl', pg.adminUrl());
  project.provide('pgPort', pg.port);
  project.provide('pgPassword', pg.password);
}

export async function teardown(): Promise<void> {
  await pg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}
