// The client's profile: which control plane, which CA to trust, who we are. Lives in $AGENTDB_HOME
// (default ~/.agentdb), 0600; the session token itself is in the key store, not here.
import { mkdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { ClientError, ClientErrorCode } from './errors.js';

export interface Profile {
  server: string;
  /** the cluster's host CA, pinned at login */
  caPem?: string;
  identity?: { name: string; kind: string; roles: string[] };
  expiresAt?: string;
}

export const DEFAULT_SERVER = 'https://127.0.0.1:7443';

export function agentdbHome(): string {
  return process.env.AGENTDB_HOME || path.join(homedir(), '.agentdb');
}

export async function ensureHome(): Promise<string> {
  const home = agentdbHome();
  await mkdir(home, { recursive: true, mode: 0o700 });
  return home;
}

const profilePath = () => path.join(agentdbHome(), 'profile.json');

export async function readProfile(): Promise<Profile | undefined> {
  let text: string;
  try {
    text = await readFile(profilePath(), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const p = JSON.parse(text) as Profile;
    if (typeof p.server !== 'string') throw new Error('no server');
    return p;
  } catch (err) {
    throw new ClientError(ClientErrorCode.PROFILE, `profile ${profilePath()} is damaged (${(err as Error).message}); run \`agentdb login\` to write a new one`);
  }
}

export async function writeProfile(p: Profile): Promise<void> {
  await ensureHome();
  await writeFile(profilePath(), JSON.stringify(p, null, 2) + '\n', { mode: 0o600 });
  await chmod(profilePath(), 0o600);
}

export async function removeProfileIdentity(): Promise<void> {
  const p = await readProfile();
  if (!p) return;
  delete p.identity;
  delete p.expiresAt;
  await writeProfile(p);
}

export async function deleteProfile(): Promise<void> {
  await rm(profilePath(), { force: true });
}
