// WorkloadIssuers against a real (loopback) issuer: discovery and keys fetched once and cached, a rotated key
// picked up on its unknown kid but not more often than every 30 s, discovery answers that do not name the
// issuer refused, a failed discovery retried only after 10 s, and no request to an issuer that is not listed.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { IdentityError, WorkloadIssuers, type WorkloadEntry } from '../../src/identity/index.js';
import { githubClaims, startTestIssuer, type TestIssuer } from '../helpers/workload-issuer.js';
import { rejected } from '../helpers/expect-coded.js';

let idp: TestIssuer;
let issuers: WorkloadIssuers;

const entry = (issuer: string): WorkloadEntry => ({ issuer, audience: 'agentdb', match: { repository: 'acme/orders' }, identity: 'gh:{{repository}}', roles: ['ci'] });

beforeEach(async () => {
  idp = await startTestIssuer();
  issuers = new WorkloadIssuers([entry(idp.issuer)]);
  // Only Date is faked: sockets and timers stay real, the clock jose's key cache reads can be moved on.
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterEach(async () => {
  vi.useRealTimers();
  await idp.close();
});

const refusal = (p: Promise<unknown>): Promise<IdentityError> => rejected(IdentityError, p);

const later = (ms: number) => vi.setSystemTime(Date.now() + ms);

describe('WorkloadIssuers keys', () => {
  test('discovery and JWKS are fetched once for many tokens', async () => {
    for (let i = 0; i < 3; i++) {
      const claims = await issuers.verify(await idp.sign(githubClaims()));
      expect(issuers.identify(claims).name).toBe('gh:acme/orders');
    }
    expect(idp.hits).toEqual(['/.well-known/openid-configuration', '/.well-known/jwks']);
  });

  test('a rotated key: its unknown kid refetches the JWKS, at most once per 30 s', async () => {
    await issuers.verify(await idp.sign(githubClaims()));
    await idp.rotate();
    // Within the cooldown a new kid is refused without asking the issuer again (forged kids cannot flood it).
    expect((await refusal(issuers.verify(await idp.sign(githubClaims())))).code).toBe('AGENTDB_ERR_IDENTITY_TOKEN_SIGNATURE');
    expect(idp.hits.filter((h) => h === '/.well-known/jwks')).toHaveLength(1);
    later(31_000);
    await issuers.verify(await idp.sign(githubClaims()));
    expect(idp.hits.filter((h) => h === '/.well-known/jwks')).toHaveLength(2);
  });

  test('a discovery document naming another issuer is refused; the failure is retried after 10 s, not before', async () => {
    idp.discovery = { issuer: 'https://token.actions.githubusercontent.com', jwks_uri: `${idp.issuer}/.well-known/jwks` };
    const err = await refusal(issuers.verify(await idp.sign(githubClaims())));
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_DISCOVERY');
    expect(err.message).toContain(`names issuer "https://token.actions.githubusercontent.com", not ${idp.issuer}`);
    idp.discovery = undefined;
    expect((await refusal(issuers.verify(await idp.sign(githubClaims())))).code).toBe('AGENTDB_ERR_IDENTITY_DISCOVERY');
    expect(idp.hits).toEqual(['/.well-known/openid-configuration']);
    later(11_000);
    await issuers.verify(await idp.sign(githubClaims()));
    expect(idp.hits).toEqual(['/.well-known/openid-configuration', '/.well-known/openid-configuration', '/.well-known/jwks']);
  });

  test('a JWKS on plain http off loopback is refused', async () => {
    idp.discovery = { issuer: idp.issuer, jwks_uri: 'http://keys.example.com/jwks' };
    expect((await refusal(issuers.verify(await idp.sign(githubClaims())))).code).toBe('AGENTDB_ERR_IDENTITY_INSECURE_ISSUER');
  });

  test('a token from an issuer not listed is refused before any request', async () => {
    const other = await startTestIssuer();
    try {
      const err = await refusal(issuers.verify(await other.sign(githubClaims())));
      expect(err.code).toBe('AGENTDB_ERR_IDENTITY_TOKEN_ISSUER');
      expect(other.hits).toEqual([]);
      expect(idp.hits).toEqual([]);
    } finally {
      await other.close();
    }
  });

  test('an issuer on plain http off loopback is never contacted', async () => {
    const insecure = new WorkloadIssuers([entry('http://ci.example.com')]);
    const token = await idp.sign({ ...githubClaims(), iss: 'http://ci.example.com' });
    expect((await refusal(insecure.verify(token))).code).toBe('AGENTDB_ERR_IDENTITY_INSECURE_ISSUER');
  });
});
