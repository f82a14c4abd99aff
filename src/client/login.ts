// Logging in: a person through the device code flow (the control plane talks to the IdP), a bot with its
// client credentials (the secret goes only to the IdP), a CI job with its own OIDC token.
import { readFile } from 'node:fs/promises';
import { clientCredentialsToken } from '../identity/index.js';
import { ApiClient } from './api-client.js';
import { ciAudience, ciToken, type CiTokenOptions } from './ci-token.js';
import { ClientError, ClientErrorCode } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { deleteToken, saveToken } from './keystore.js';
import { readProfile, writeProfile, removeProfileIdentity, type Profile } from './profile.js';

export interface LoginResult {
  identity: { name: string; kind: string; roles: string[] };
  expiresAt: string;
  keystore: 'keychain' | 'file';
}

interface SessionAnswer {
  token: string;
  identity: { name: string; kind: string; roles: string[] };
  expiresAt: string;
}

export interface DevicePrompt {
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  expiresIn: number;
}

async function finish(api: ApiClient, caPem: string | undefined, answer: SessionAnswer): Promise<LoginResult> {
  const keystore = await saveToken(api.server, answer.token);
  const profile: Profile = { server: api.server, ...(caPem ? { caPem } : {}), identity: answer.identity, expiresAt: answer.expiresAt };
  await writeProfile(profile);
  return { identity: answer.identity, expiresAt: answer.expiresAt, keystore };
}

export async function loginWithDeviceCode(server: string, caPem: string | undefined, onPrompt: (p: DevicePrompt) => void): Promise<LoginResult> {
  const api = new ApiClient(server, caPem);
  try {
    const start = await api.post<DevicePrompt & { loginId: string }>('/v1/login/device');
    onPrompt(start);
    const deadline = Date.now() + start.expiresIn * 1000;
    while (Date.now() < deadline) {
      const { status, data } = await api.call<SessionAnswer>('POST', '/v1/login/device/poll', { loginId: start.loginId });
      if (status === 200) return await finish(api, caPem, data);
    }
    throw new ClientError(ClientErrorCode.LOGIN_TIMEOUT, 'the sign-in was not completed in time; run `agentdb login` again', ExitCode.NOT_LOGGED_IN);
  } finally {
    await api.close();
  }
}

async function loginWithToken(server: string, caPem: string | undefined, token: string): Promise<LoginResult> {
  const api = new ApiClient(server, caPem);
  try {
    return await finish(api, caPem, await api.post<SessionAnswer>('/v1/login/token', { token }));
  } finally {
    await api.close();
  }
}

export async function loginWithClientCredentials(server: string, caPem: string | undefined, clientId: string, clientSecret: string): Promise<LoginResult> {
  const api = new ApiClient(server, caPem);
  let auth: { issuer: string; audience: string };
  try {
    auth = (await api.get<{ auth: { issuer: string; audience: string } }>('/v1/ping')).auth;
  } finally {
    await api.close();
  }
  const token = await clientCredentialsToken({ issuer: auth.issuer, clientId, clientSecret, audience: auth.audience });
  return loginWithToken(server, caPem, token);
}

export async function loginWithTokenFile(server: string, caPem: string | undefined, file: string): Promise<LoginResult> {
  let token: string;
  try {
    token = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new ClientError(ClientErrorCode.TOKEN_FILE, `cannot read token file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  return loginWithToken(server, caPem, token);
}

/** The CI job's own OIDC token (ci-token.ts says where it comes from), verified by the server against auth.workload. */
export async function loginFromCi(server: string, caPem: string | undefined, opts: CiTokenOptions = {}): Promise<LoginResult> {
  const advertised = async () => {
    const api = new ApiClient(server, caPem);
    try {
      const { auth } = await api.get<{ auth: { workload?: { issuer: string; audience: string }[] } }>('/v1/ping');
      return ciAudience(auth.workload ?? []);
    } finally {
      await api.close();
    }
  };
  return loginWithToken(server, caPem, await ciToken(opts, advertised));
}

export async function logout(): Promise<boolean> {
  const profile = await readProfile();
  if (!profile) return false;
  const { api } = await ApiClient.fromProfile({ requireLogin: false });
  try {
    await api.post('/v1/logout').catch(() => undefined);
  } finally {
    await api.close();
  }
  await deleteToken(profile.server);
  await removeProfileIdentity();
  return true;
}
