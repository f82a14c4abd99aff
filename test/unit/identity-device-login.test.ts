// Device login end to end: a real oidc-provider (the dev IdP), real HTTP, the browser helper
// playing the person, OidcLogin playing the control plane.
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { IdentityError, OidcLogin } from '../../src/identity/index.js';
import { startDevIdp, type DevIdp } from '../../src/identity/dev-idp/index.js';
import { completeDeviceLogin } from '../helpers/browser.js';
import { rejected } from '../helpers/expect-coded.js';

const AUDIENCE = 'https://agentdb.test/api';
let idp: DevIdp;
let login: OidcLogin;

beforeAll(async () => {
  idp = await startDevIdp({
    users: [
      { name: 'alice', password: 'correct horse', email: 'alice@example.com', groups: ['dev', 'oncall'], traits: { region: 'eu', team: 'payments' } },
      { name: 'bob', password: 'hunter2', email: 'bob@example.com', groups: ['support'] },
    ],
    clients: [{ id: 'ci-bot', secret: 'bot-secret', groups: ['bots'], traits: { region: 'us' } }],
    controlPlaneClient: { id: 'agentdb', secret: 'cp-secret' },
    audience: AUDIENCE,
  });
  login = await OidcLogin.discover({ issuer: idp.issuer, clientId: 'agentdb', clientSecret: 'cp-secret', audience: AUDIENCE });
});

afterAll(async () => {
  await idp?.close();
});

const rejection = (p: Promise<unknown>): Promise<IdentityError> => rejected(IdentityError, p);

describe('device login against the dev IdP', () => {
  test('a person who signs in and approves yields the verified claims', async () => {
    const started = await login.startDeviceLogin();
    expect(started.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(started.verificationUri).toBe(`${idp.issuer}/device`);
    expect(started.verificationUriComplete).toContain(encodeURIComponent(started.userCode));
    expect(started.interval).toBe(1);
    expect(started.expiresIn).toBeGreaterThan(60);

    await completeDeviceLogin(started.verificationUri, started.userCode, 'alice', 'correct horse');
    const claims = await started.result;
    expect(claims).toMatchObject({
      iss: idp.issuer,
      aud: 'agentdb',
      sub: 'alice',
      preferred_username: 'alice',
      email: 'alice@example.com',
      groups: ['dev', 'oncall'],
      region: 'eu',
      team: 'payments',
    });
  });

  test('the complete verification URI needs no typing of the code', async () => {
    const started = await login.startDeviceLogin();
    await completeDeviceLogin(started.verificationUriComplete!, 'not-used', 'bob', 'hunter2');
    const claims = await started.result;
    expect(claims).toMatchObject({ sub: 'bob', groups: ['support'] });
    expect(claims).not.toHaveProperty('region');
  });

  test('a wrong password shows an error and the login does not complete', async () => {
    const started = await login.startDeviceLogin();
    const failed = completeDeviceLogin(started.verificationUri, started.userCode, 'alice', 'wrong password');
    await expect(failed).rejects.toThrow(/Wrong username or password/);
    await expect(failed).rejects.toThrow(/HTTP 401/);
    let settled = false;
    started.result.then(() => (settled = true), () => (settled = true));
    await new Promise((r) => setTimeout(r, 1500));
    expect(settled).toBe(false);
    started.cancel();
    const err = await rejection(started.result);
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_LOGIN_CANCELLED');
  });

  test('an unknown user gets the same answer as a wrong password', async () => {
    const started = await login.startDeviceLogin();
    await expect(completeDeviceLogin(started.verificationUri, started.userCode, 'mallory', 'correct horse')).rejects.toThrow(/HTTP 401.*Wrong username or password/);
    started.cancel();
    await rejection(started.result);
  });

  test('a wrong user code is refused on the page', async () => {
    const started = await login.startDeviceLogin();
    await expect(completeDeviceLogin(started.verificationUri, 'BCDF-GHJK', 'alice', 'correct horse')).rejects.toThrow(/code is not valid/);
    started.cancel();
    await rejection(started.result);
  });

  test('a person who denies makes the login reject', async () => {
    const started = await login.startDeviceLogin();
    await completeDeviceLogin(started.verificationUri, started.userCode, 'alice', 'correct horse', { approve: false });
    const err = await rejection(started.result);
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_LOGIN_DENIED');
    expect(err.message).toMatch(/denied/);
    // The code cannot be used again after a denial.
    await expect(completeDeviceLogin(started.verificationUri, started.userCode, 'alice', 'correct horse')).rejects.toThrow(/already used/);
  });

  test('a user code works only once', async () => {
    const started = await login.startDeviceLogin();
    await completeDeviceLogin(started.verificationUri, started.userCode, 'bob', 'hunter2');
    await started.result;
    await expect(completeDeviceLogin(started.verificationUri, started.userCode, 'bob', 'hunter2')).rejects.toThrow(/already used/);
  });

  test('the ID token itself carries username, email, groups and traits (not only userinfo)', async () => {
    const config = await oidc.discovery(new URL(idp.issuer), 'agentdb', 'cp-secret', undefined, { execute: [oidc.allowInsecureRequests] });
    const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid profile email groups' });
    await completeDeviceLogin(started.verification_uri, started.user_code, 'alice', 'correct horse');
    const tokens = await oidc.pollDeviceAuthorizationGrant(config, started);
    expect(tokens.claims()).toMatchObject({ preferred_username: 'alice', email: 'alice@example.com', groups: ['dev', 'oncall'], region: 'eu', team: 'payments' });
  });

  test('an IdP that went away gives a clear error when a login starts', async () => {
    const gone = await startDevIdp({ users: [], clients: [], controlPlaneClient: { id: 'agentdb', secret: 's' }, audience: AUDIENCE });
    const stale = await OidcLogin.discover({ issuer: gone.issuer, clientId: 'agentdb', clientSecret: 's', audience: AUDIENCE });
    await gone.close();
    const err = await rejection(stale.startDeviceLogin());
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_DEVICE_START');
    expect(err.message).toContain(gone.issuer);
  });
});
