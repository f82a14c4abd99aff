// Bot login and token verification: client credentials against the dev IdP, JWT checks in
// OidcLogin.verifyAccessToken, the signing key file, and the http-only-on-loopback rule.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT, decodeProtectedHeader, generateKeyPair, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  IdentityError,
  OidcLogin,
  clientCredentialsToken,
  resolveIdentity,
} from '../../src/identity/index.js';
import { startDevIdp, type DevIdp, type DevIdpOptions } from '../../src/identity/dev-idp/index.js';
import { rejected } from '../helpers/expect-coded.js';

const AUDIENCE = 'https://agentdb.test/api';
const baseOptions: DevIdpOptions = {
  users: [{ name: 'alice', password: 'pw', email: 'alice@example.com', groups: ['dev'] }],
  clients: [
    { id: 'ci-bot', secret: 'bot-secret', groups: ['bots', 'ci'], traits: { region: 'eu', pipeline: 'nightly' } },
    { id: 'agent-7', secret: 'agent-secret', groups: [] },
  ],
  controlPlaneClient: { id: 'agentdb', secret: 'cp-secret' },
  audience: AUDIENCE,
};

let dir: string;
let keyFile: string;
let idp: DevIdp;
let other: DevIdp;
let login: OidcLogin;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'agentdb-identity-'));
  keyFile = path.join(dir, 'keys', 'dev-idp.jwks.json');
  idp = await startDevIdp({ ...baseOptions, keyFile });
  other = await startDevIdp(baseOptions);
  login = await OidcLogin.discover({ issuer: idp.issuer, clientId: 'agentdb', clientSecret: 'cp-secret', audience: AUDIENCE });
});

afterAll(async () => {
  await idp?.close();
  await other?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const rejection = (p: Promise<unknown>): Promise<IdentityError> => rejected(IdentityError, p);

function botToken(issuer = idp.issuer, clientId = 'ci-bot', clientSecret = 'bot-secret'): Promise<string> {
  return clientCredentialsToken({ issuer, clientId, clientSecret, audience: AUDIENCE });
}

/** The dev IdP's own private key, read from its key file: lets a test mint tokens the IdP would not. */
async function idpKey(): Promise<{ key: CryptoKey | Uint8Array; kid: string }> {
  const jwk = (JSON.parse(await readFile(keyFile, 'utf8')) as { keys: JWK[] }).keys[0]!;
  return { key: await importJWK(jwk, 'RS256'), kid: jwk.kid! };
}

function mint(claims: Record<string, unknown>): SignJWT {
  return new SignJWT(claims).setIssuer(idp.issuer).setAudience(AUDIENCE).setSubject('ci-bot').setIssuedAt();
}

describe('client credentials', () => {
  test('the token is a JWT for the audience that verifies and carries client_id, groups and traits', async () => {
    const token = await botToken();
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    const claims = await login.verifyAccessToken(token);
    expect(claims).toMatchObject({
      iss: idp.issuer,
      aud: AUDIENCE,
      sub: 'ci-bot',
      client_id: 'ci-bot',
      groups: ['bots', 'ci'],
      region: 'eu',
      pipeline: 'nightly',
    });
    expect(claims['exp']).toBeGreaterThan(Date.now() / 1000);

    const identity = resolveIdentity(
      claims,
      {
        nameClaims: ['preferred_username', 'email', 'client_id', 'sub'],
        groupsClaim: 'groups',
        traitClaims: { region: 'region' },
        bindings: [{ match: { claim: 'groups', values: ['ci'] }, kind: 'bot', roles: ['ci-reader'] }],
      },
      'agent',
    );
    expect(identity).toEqual({ name: 'ci-bot', kind: 'bot', roles: ['ci-reader'], traits: { region: ['eu'] }, issuer: idp.issuer, subject: 'ci-bot' });
  });

  test('a client with no groups or traits gets an empty groups claim', async () => {
    const claims = await login.verifyAccessToken(await botToken(idp.issuer, 'agent-7', 'agent-secret'));
    expect(claims).toMatchObject({ client_id: 'agent-7', groups: [] });
  });

  test('a wrong secret or an unknown client is refused by the IdP', async () => {
    expect((await rejection(botToken(idp.issuer, 'ci-bot', 'nope'))).code).toBe('AGENTDB_ERR_IDENTITY_CLIENT_AUTH');
    expect((await rejection(botToken(idp.issuer, 'ghost', 'x'))).code).toBe('AGENTDB_ERR_IDENTITY_CLIENT_AUTH');
    // The control plane's own client may not use client credentials.
    const cp = await rejection(botToken(idp.issuer, 'agentdb', 'cp-secret'));
    expect(cp.code).toBe('AGENTDB_ERR_IDENTITY_TOKEN_REQUEST');
    expect(cp.message).toContain('grant type is not allowed');
  });

  test('an audience the IdP does not serve is refused', async () => {
    const err = await rejection(clientCredentialsToken({ issuer: idp.issuer, clientId: 'ci-bot', clientSecret: 'bot-secret', audience: 'https://elsewhere' }));
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_AUDIENCE_UNKNOWN');
  });

  test('missing secret or audience is a usage error, before any request', async () => {
    expect((await rejection(clientCredentialsToken({ issuer: idp.issuer, clientId: 'ci-bot', clientSecret: '', audience: AUDIENCE }))).code).toBe('AGENTDB_ERR_IDENTITY_CLIENT_INVALID');
    expect((await rejection(clientCredentialsToken({ issuer: idp.issuer, clientId: 'ci-bot', clientSecret: 'x', audience: '' }))).code).toBe('AGENTDB_ERR_IDENTITY_AUDIENCE_MISSING');
  });
});

describe('verifyAccessToken', () => {
  test('a token from another dev IdP (other keys, other issuer) is rejected', async () => {
    const foreign = await botToken(other.issuer);
    const err = await rejection(login.verifyAccessToken(foreign));
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_TOKEN_SIGNATURE');
    // ... while the other IdP's own verifier accepts it, so the token itself is fine.
    const otherLogin = await OidcLogin.discover({ issuer: other.issuer, clientId: 'agentdb', clientSecret: 'cp-secret', audience: AUDIENCE });
    await expect(otherLogin.verifyAccessToken(foreign)).resolves.toMatchObject({ client_id: 'ci-bot' });
  });

  test('a token naming our issuer but signed with another key is rejected', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const { kid } = await idpKey();
    const forged = await mint({ client_id: 'ci-bot', groups: ['admins'] }).setProtectedHeader({ alg: 'RS256', kid }).setExpirationTime('5m').sign(privateKey);
    expect((await rejection(login.verifyAccessToken(forged))).code).toBe('AGENTDB_ERR_IDENTITY_TOKEN_SIGNATURE');
  });

  test('a control: a token minted with the IdP key and right claims verifies', async () => {
    const { key, kid } = await idpKey();
    const token = await mint({ client_id: 'ci-bot' }).setProtectedHeader({ alg: 'RS256', kid }).setExpirationTime('5m').sign(key);
    await expect(login.verifyAccessToken(token)).resolves.toMatchObject({ client_id: 'ci-bot' });
  });

  test('an expired token is rejected', async () => {
    const { key, kid } = await idpKey();
    const now = Math.floor(Date.now() / 1000);
    const token = await mint({}).setProtectedHeader({ alg: 'RS256', kid }).setIssuedAt(now - 3600).setExpirationTime(now - 600).sign(key);
    const err = await rejection(login.verifyAccessToken(token));
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_TOKEN_EXPIRED');
    expect(err.message).toContain(new Date((now - 600) * 1000).toISOString());
  });

  test('a token for another audience is rejected', async () => {
    const { key, kid } = await idpKey();
    const token = await mint({}).setAudience('https://other.app').setProtectedHeader({ alg: 'RS256', kid }).setExpirationTime('5m').sign(key);
    const err = await rejection(login.verifyAccessToken(token));
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_TOKEN_AUDIENCE');
    expect(err.message).toContain('https://other.app');
  });

  test('the ID-token audience (our client id) is not an access-token audience', async () => {
    const { key, kid } = await idpKey();
    const token = await mint({}).setAudience('agentdb').setProtectedHeader({ alg: 'RS256', kid }).setExpirationTime('5m').sign(key);
    expect((await rejection(login.verifyAccessToken(token))).code).toBe('AGENTDB_ERR_IDENTITY_TOKEN_AUDIENCE');
  });

  test('a token from another issuer signed with the right key is rejected', async () => {
    const { key, kid } = await idpKey();
    const token = await mint({}).setIssuer('https://evil.example').setProtectedHeader({ alg: 'RS256', kid }).setExpirationTime('5m').sign(key);
    expect((await rejection(login.verifyAccessToken(token))).code).toBe('AGENTDB_ERR_IDENTITY_TOKEN_ISSUER');
  });

  test('a token without exp is rejected', async () => {
    const { key, kid } = await idpKey();
    const token = await mint({}).setProtectedHeader({ alg: 'RS256', kid }).sign(key);
    const err = await rejection(login.verifyAccessToken(token));
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_TOKEN_CLAIMS');
    expect(err.message).toContain('"exp"');
  });

  test('symmetric and unsigned tokens are rejected', async () => {
    const hs = await mint({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode('x'.repeat(32)));
    expect((await rejection(login.verifyAccessToken(hs))).code).toBe('AGENTDB_ERR_IDENTITY_TOKEN_INVALID');
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ iss: idp.issuer, aud: AUDIENCE, exp: 9999999999 })).toString('base64url');
    expect((await rejection(login.verifyAccessToken(`${header}.${body}.`))).code).toBe('AGENTDB_ERR_IDENTITY_TOKEN_INVALID');
  });

  test('when the IdP cannot be reached for its keys, the error says so', async () => {
    const gone = await startDevIdp(baseOptions);
    const token = await botToken(gone.issuer);
    const verifier = await OidcLogin.discover({ issuer: gone.issuer, clientId: 'agentdb', audience: AUDIENCE });
    await gone.close();
    const err = await rejection(verifier.verifyAccessToken(token));
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_JWKS_UNAVAILABLE');
    expect(err.message).toContain(gone.issuer);
  });

  test.each([
    ['empty', ''],
    ['not a JWT', 'hello'],
    ['garbage parts', 'aaa.bbb.ccc'],
    ['five parts (JWE)', 'a.b.c.d.e'],
    ['huge', `${'a'.repeat(40_000)}.b.c`],
    ['not a string', 42 as unknown as string],
  ])('malformed token (%s) gives a clear error', async (_label, token) => {
    const err = await rejection(login.verifyAccessToken(token));
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_TOKEN_INVALID');
  });
});

describe('transport rule: plain http only on loopback', () => {
  test.each(['http://idp.example.com', 'http://10.1.2.3:8080', 'http://[2001:db8::1]/', 'http://localhost.example.com'])(
    'OidcLogin.discover and clientCredentialsToken refuse %s',
    async (issuer) => {
      const d = await rejection(OidcLogin.discover({ issuer, clientId: 'agentdb', clientSecret: 's', audience: AUDIENCE }));
      expect(d.code).toBe('AGENTDB_ERR_IDENTITY_INSECURE_ISSUER');
      expect(d.message).toMatch(/https/);
      const c = await rejection(clientCredentialsToken({ issuer, clientId: 'ci-bot', clientSecret: 's', audience: AUDIENCE }));
      expect(c.code).toBe('AGENTDB_ERR_IDENTITY_INSECURE_ISSUER');
    },
  );

  test('non-URLs and other schemes are refused', async () => {
    expect((await rejection(OidcLogin.discover({ issuer: 'not a url', clientId: 'a', audience: AUDIENCE }))).code).toBe('AGENTDB_ERR_IDENTITY_ISSUER_INVALID');
    expect((await rejection(OidcLogin.discover({ issuer: 'ftp://127.0.0.1/', clientId: 'a', audience: AUDIENCE }))).code).toBe('AGENTDB_ERR_IDENTITY_ISSUER_INVALID');
  });

  test('an issuer without OpenID metadata gives a discovery error', async () => {
    const err = await rejection(OidcLogin.discover({ issuer: `${idp.issuer}/nothing-here`, clientId: 'agentdb', audience: AUDIENCE }));
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_DISCOVERY');
    expect(err.message).toContain('/nothing-here');
  });

  test('OidcLogin needs an audience', async () => {
    expect((await rejection(OidcLogin.discover({ issuer: idp.issuer, clientId: 'agentdb', audience: '' }))).code).toBe('AGENTDB_ERR_IDENTITY_AUDIENCE_MISSING');
  });
});

describe('dev IdP', () => {
  test('the key file is private and a restarted IdP keeps validating old tokens', async () => {
    const file = path.join(dir, 'restart.jwks.json');
    const first = await startDevIdp({ ...baseOptions, keyFile: file });
    const token = await botToken(first.issuer);
    const port = new URL(first.issuer).port;
    await first.close();
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const second = await startDevIdp({ ...baseOptions, keyFile: file, port: Number(port) });
    try {
      expect(second.issuer).toBe(first.issuer);
      const verifier = await OidcLogin.discover({ issuer: second.issuer, clientId: 'agentdb', audience: AUDIENCE });
      await expect(verifier.verifyAccessToken(token)).resolves.toMatchObject({ client_id: 'ci-bot' });
    } finally {
      await second.close();
    }
  });

  test('an unusable key file is reported, not overwritten', async () => {
    const file = path.join(dir, 'broken.jwks.json');
    await writeFile(file, '{"keys": [{"kty": "EC"}]}');
    const err = await rejection(startDevIdp({ ...baseOptions, keyFile: file }));
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_KEY_FILE');
    expect(err.message).toContain(file);
    await writeFile(file, 'not json');
    expect((await rejection(startDevIdp({ ...baseOptions, keyFile: file }))).message).toContain('not JSON');
    expect(await readFile(file, 'utf8')).toBe('not json');
  });

  test('it binds only to loopback and checks its configuration', async () => {
    expect((await rejection(startDevIdp({ ...baseOptions, host: '0.0.0.0' }))).code).toBe('AGENTDB_ERR_IDENTITY_DEV_IDP_CONFIG');
    const dupe = await rejection(startDevIdp({ ...baseOptions, clients: [...baseOptions.clients, { id: 'agentdb', secret: 'x', groups: [] }] }));
    expect(dupe.message).toContain('"agentdb"');
    const reserved = await rejection(startDevIdp({ ...baseOptions, users: [{ name: 'a', password: 'p', email: 'e', groups: [], traits: { sub: 'root' } }] }));
    expect(reserved.message).toContain('"sub"');
    expect((await rejection(startDevIdp({ ...baseOptions, audience: '' }))).code).toBe('AGENTDB_ERR_IDENTITY_DEV_IDP_CONFIG');
    expect((await rejection(startDevIdp({ ...baseOptions, audience: 'agentdb' }))).message).toContain('absolute URI');
  });

  test('a taken port is reported', async () => {
    const err = await rejection(startDevIdp({ ...baseOptions, port: Number(new URL(idp.issuer).port) }));
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_DEV_IDP_LISTEN');
  });

  test('close() is idempotent', async () => {
    const extra = await startDevIdp(baseOptions);
    await extra.close();
    await extra.close();
    await expect(fetch(`${extra.issuer}/.well-known/openid-configuration`)).rejects.toThrow();
  });
});
