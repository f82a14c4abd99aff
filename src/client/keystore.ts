// Where the login session token lives: the OS keychain (through @napi-rs/keyring) when one answers, else a
// 0600 file under $AGENTDB_HOME (CI runners and containers have no keychain). AGENTDB_KEYSTORE=file forces the file.
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Entry } from '@napi-rs/keyring';
import { agentdbHome } from './profile.js';

const SERVICE = 'agentdb';

function keychain(account: string): Entry | undefined {
  if (process.env.AGENTDB_KEYSTORE === 'file') return undefined;
  try {
    return new Entry(SERVICE, account);
  } catch {
    return undefined;
  }
}

function tokenFile(account: string): string {
  const name = createHash('sha256').update(account).digest('hex').slice(0, 24);
  return path.join(agentdbHome(), 'keys', `${name}.token`);
}

export async function saveToken(account: string, token: string): Promise<'keychain' | 'file'> {
  const entry = keychain(account);
  if (entry) {
    try {
      entry.setPassword(token);
      return 'keychain';
    } catch {
      // no keychain reachable: fall through to the file
    }
  }
  const file = tokenFile(account);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, token, { mode: 0o600 });
  await chmod(file, 0o600);
  return 'file';
}

export async function loadToken(account: string): Promise<string | undefined> {
  const entry = keychain(account);
  if (entry) {
    try {
      const t = entry.getPassword();
      if (t) return t;
    } catch {
      // fall back to the file
    }
  }
  try {
    return (await readFile(tokenFile(account), 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function deleteToken(account: string): Promise<void> {
  const entry = keychain(account);
  if (entry) {
    try {
      entry.deletePassword();
    } catch {
      // nothing stored there
    }
  }
  await rm(tokenFile(account), { force: true });
}
