export { ClientError } from './errors.js';
export { ApiClient } from './api-client.js';
export { readProfile, writeProfile, agentdbHome, DEFAULT_SERVER } from './profile.js';
export type { Profile } from './profile.js';
export { loginWithDeviceCode, loginWithClientCredentials, loginWithTokenFile, loginFromCi, logout } from './login.js';
export type { LoginResult, DevicePrompt } from './login.js';
export { startProxy } from './proxy.js';
export type { ProxyInfo, RunningProxy, ProxyOptions } from './proxy.js';
export { pgEnvironment, runWithEnvironment } from './exec.js';
