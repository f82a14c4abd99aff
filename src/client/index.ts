// Public face of the client. Every CLI command imports it, so the parts with heavy dependencies load on their
// first call: the proxy (the CA's X.509 code, pgwire) and login (the OIDC client). `agentdb status` without a
// login needs only the profile and the key store.
export { ClientError, ClientErrorCode } from './errors.js';
export { ExitCode } from './exit-codes.js';
export { ApiClient } from './api-client.js';
export { readProfile, writeProfile, agentdbHome, DEFAULT_SERVER } from './profile.js';
export type { Profile } from './profile.js';
export type { LoginResult, DevicePrompt } from './login.js';
export type { ProxyInfo, RunningProxy, ProxyOptions } from './proxy.js';
export { pgEnvironment, runWithEnvironment } from './exec.js';

/** The async function `name` of the module `load` brings, which loads on the first call. */
function onFirstCall<M, K extends keyof M>(load: () => Promise<M>, name: K): M[K] {
  return (async (...args: unknown[]) => ((await load())[name] as (...a: unknown[]) => Promise<unknown>)(...args)) as M[K];
}

const login = () => import('./login.js');
export const loginWithDeviceCode = onFirstCall(login, 'loginWithDeviceCode');
export const loginWithClientCredentials = onFirstCall(login, 'loginWithClientCredentials');
export const loginWithTokenFile = onFirstCall(login, 'loginWithTokenFile');
export const loginFromCi = onFirstCall(login, 'loginFromCi');
export const logout = onFirstCall(login, 'logout');
export const startProxy = onFirstCall(() => import('./proxy.js'), 'startProxy');
