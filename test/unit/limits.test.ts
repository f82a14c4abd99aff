// The pieces that keep clients from knocking the server over, alone: token buckets, connection admission,
// the address a cap counts, the config's defaults.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { Admission, addressKey } from '../../src/gateway/index.js';
import { OidcLogin } from '../../src/identity/index.js';
import { startDevIdp } from '../../src/identity/dev-idp/index.js';
import { completeDeviceLogin } from '../helpers/browser.js';
import { LimitError, RateLimiter } from '../../src/server/rate-limit.js';
import { parseConfig } from '../../src/server/index.js';
import { Demand } from '../../src/identity/demand.js';
import { thrown } from '../helpers/expect-coded.js';

const BASE = { auth: { oidc: { issuer: 'https://login.example.com/', clientId: 'agentdb', audience: 'api://agentdb' } } };

describe('token bucket', () => {
  test('a burst passes, the next is refused with the seconds until a token is back, and time refills', () => {
    const r = new RateLimiter('logins from', { burst: 3, perMinute: 6 });
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) r.take('a', t0);
    const err = thrown(LimitError, () => r.take('a', t0), 'AGENTDB_ERR_API_RATE_LIMITED', /logins from a/);
    expect(err.retryAfterS).toBe(10);
    // another key has its own bucket
    r.take('b', t0);
    expect(() => r.take('a', t0 + 9_000)).toThrow(LimitError);
    r.take('a', t0 + 10_000);
    expect(() => r.take('a', t0 + 10_000)).toThrow(LimitError);
  });

  test('keys beyond the bound are evicted, so memory stays bounded', () => {
    const r = new RateLimiter('x', { burst: 1, perMinute: 1 }, 100);
    for (let i = 0; i < 1000; i++) r.take(`k${i}`, 0);
    expect((r as unknown as { buckets: Map<string, unknown> }).buckets.size).toBeLessThanOrEqual(100);
  });
});

describe('admission', () => {
  test('caps per address and in total; a released ticket frees its place; the deadline fires', async () => {
    const a = new Admission({ total: 3, perAddress: 2, timeoutMs: 50 });
    const closed: string[] = [];
    const t1 = a.admit('10.0.0.1', () => closed.push('t1'))!;
    const t2 = a.admit('10.0.0.1', () => closed.push('t2'))!;
    expect(a.admit('10.0.0.1', () => undefined)).toBeUndefined();
    const t3 = a.admit('10.0.0.2', () => closed.push('t3'))!;
    expect(a.refused).toBe(1);
    t3.release();
    t3.release();
    expect(a.size).toBe(2);
    const t4 = a.admit('10.0.0.2', () => closed.push('t4'))!;
    t1.release();
    t2.release();
    await new Promise((r) => setTimeout(r, 120));
    expect(closed).toEqual(['t4']); // only t4 was still held at its deadline
    t4.release();
    expect(a.size).toBe(0);
  });

  test('all places taken: the heaviest address gives up its oldest, unless it is no heavier than the newcomer', () => {
    const a = new Admission({ total: 3, perAddress: 3, timeoutMs: 60_000 });
    const closed: string[] = [];
    const tickets = ['a1', 'a2'].map((n) => a.admit('10.0.0.1', () => closed.push(n))!);
    tickets.push(a.admit('10.0.0.2', () => closed.push('b1'))!);
    // a newcomer from a third address: 10.0.0.1 holds two, more than the newcomer's one
    tickets.push(a.admit('10.0.0.3', () => closed.push('c1'))!);
    expect(closed).toEqual(['a1']);
    expect(a.size).toBe(3);
    expect(a.evicted).toBe(1);
    // now every address holds one: a fourth address is refused, nobody is evicted
    expect(a.admit('10.0.0.4', () => closed.push('d1'))).toBeUndefined();
    // and a second from 10.0.0.2 would hold two, no fewer than anyone else gives up: refused too
    expect(a.admit('10.0.0.2', () => closed.push('b2'))).toBeUndefined();
    expect(closed).toEqual(['a1']);
    for (const t of tickets) t.release();
    expect(a.size).toBe(0);
  });

  test('an IPv6 client is counted by its /64, an IPv4-mapped one by its IPv4 address', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
    expect(addressKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(addressKey('127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey(undefined)).toBe('?');
  });
});

describe('device login demand', () => {
  test('wanted() waits for a watcher, and rejects when aborted', async () => {
    const d = new Demand();
    let woke = false;
    const p = d.wanted(new AbortController().signal).then(() => (woke = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(woke).toBe(false);
    const stop = d.watch();
    await p;
    expect(woke).toBe(true);
    stop();
    const ac = new AbortController();
    const q = d.wanted(ac.signal);
    ac.abort(new Error('gone'));
    await expect(q).rejects.toThrow('gone');
    await expect(new Demand(true).wanted(new AbortController().signal)).resolves.toBeUndefined();
  });
});

describe('device login polled only while watched', () => {
  test('a login nobody waits for is not polled; once someone waits, it completes', async () => {
    const audience = 'https://agentdb.test/api';
    const idp = await startDevIdp({
      users: [{ name: 'alice', password: 'pw', email: 'alice@example.com', groups: ['dev'] }],
      clients: [],
      controlPlaneClient: { id: 'agentdb', secret: 'cp-secret' },
      audience,
    });
    try {
      const login = await OidcLogin.discover({ issuer: idp.issuer, clientId: 'agentdb', clientSecret: 'cp-secret', audience });
      const started = await login.startDeviceLogin({ pollWhenWatched: true });
      expect(started.interval).toBe(1);
      await completeDeviceLogin(started.verificationUri, started.userCode, 'alice', 'pw');
      let settled = false;
      started.result.then(() => (settled = true), () => (settled = true));
      // Three of the IdP's intervals: a polling login would have finished by now.
      await new Promise((r) => setTimeout(r, 3000));
      expect(settled).toBe(false);
      const unwatch = started.watch();
      await expect(started.result).resolves.toMatchObject({ sub: 'alice', groups: ['dev'] });
      unwatch();
    } finally {
      await idp.close();
    }
  });
});

describe('limits in the config', () => {
  test('defaults apply when the section is absent or partial', () => {
    const c = parseConfig(JSON.stringify({ ...BASE, limits: { api: { unauthenticated: { perAddress: 5 } } } }));
    expect(c.limits.api.unauthenticated).toEqual({ total: 1000, perAddress: 5, timeout: '15s' });
    expect(c.limits.api.bodyLimit).toBe(64 * 1024);
    expect(c.limits.gateway.unauthenticated.perAddress).toBe(64);
    expect(c.limits.pendingDeviceLogins).toEqual({ total: 1000, perAddress: 10 });
    expect(c.limits.rates.certs.perIdentity).toEqual({ burst: 30, perMinute: 30 });
    expect(parseConfig(JSON.stringify(BASE)).limits.rates.tokenLogins.perAddress).toEqual({ burst: 60, perMinute: 60 });
  });

  test("the README's limits block is the defaults, so what it says is what a server does", () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const block = [...readme.matchAll(/```yaml\n(limits:[\s\S]*?)```/g)].map((m) => m[1]!);
    expect(block.length).toBe(1);
    const documented = parseConfig(JSON.stringify({ ...BASE, ...(parse(block[0]!) as object) })).limits;
    expect(documented).toEqual(parseConfig(JSON.stringify(BASE)).limits);
  });

  test('a wrong value names its field', () => {
    expect(() => parseConfig(JSON.stringify({ ...BASE, limits: { gateway: { unauthenticated: { timeout: 'soon' } } } }))).toThrow(/limits\.gateway\.unauthenticated\.timeout/);
    expect(() => parseConfig(JSON.stringify({ ...BASE, limits: { rates: { deviceLogins: { perAddress: { burst: 0, perMinute: 1 } } } } }))).toThrow(/limits\.rates\.deviceLogins\.perAddress\.burst/);
  });
});
