// The proxy's certificate renewal on its own: when it fetches, how it backs off while the control plane is
// unreachable, and what a new connection gets meanwhile. Fake timers: the schedule is the subject, not the clock.
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { CertificateRenewal, RENEW_AT, backoffDelay } from '../../src/client/cert-renewal.js';
import { ClientError, ClientErrorCode } from '../../src/client/errors.js';
import { ExitCode } from '../../src/client/exit-codes.js';

interface Cert {
  n: number;
  issuedAt: Date;
  expiresAt: Date;
}

const LIFE_MS = 60_000;
const SERVER = 'https://cp.example:7443';
const unreachable = () => new ClientError(ClientErrorCode.UNREACHABLE, `cannot reach the agentdb control plane at ${SERVER}: connect ECONNREFUSED`);

let issued = 0;
const cert = (): Cert => ({ n: ++issued, issuedAt: new Date(Date.now()), expiresAt: new Date(Date.now() + LIFE_MS) });

/** A control plane that is down for the first `down` fetches (or answers with `failure`), then up. */
function controlPlane(down: number, failure: () => Error = unreachable) {
  const cp = { calls: 0, down, fetch: async (): Promise<Cert> => {
    cp.calls++;
    if (cp.calls <= cp.down) throw failure();
    return cert();
  } };
  return cp;
}

let renewal: CertificateRenewal<Cert> | undefined;
beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-12-03T12:00:00Z') });
  issued = 0;
});
afterEach(() => {
  renewal?.stop();
  vi.useRealTimers();
});

test('backoff doubles from the base up to the cap, each delay drawn from the upper half of its step', () => {
  const steps = [1, 2, 3, 4, 5, 6, 7, 8].map((f) => [backoffDelay(f, 1000, 30_000, () => 0), backoffDelay(f, 1000, 30_000, () => 1)]);
  expect(steps).toEqual([[500, 1000], [1000, 2000], [2000, 4000], [4000, 8000], [8000, 16_000], [15_000, 30_000], [15_000, 30_000], [15_000, 30_000]]);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(3, 1000, 30_000);
    expect(d).toBeGreaterThanOrEqual(2000);
    expect(d).toBeLessThanOrEqual(4000);
  }
});

test('a fresh certificate is fetched in the background two thirds into the current one\'s life', async () => {
  const cp = controlPlane(0);
  renewal = new CertificateRenewal(cert(), { fetch: cp.fetch, server: SERVER, onError: () => undefined });
  await vi.advanceTimersByTimeAsync(LIFE_MS * RENEW_AT - 100);
  expect(cp.calls).toBe(0);
  await vi.advanceTimersByTimeAsync(200);
  expect(cp.calls).toBe(1);
  expect(renewal.current.n).toBe(2);
  // and again two thirds into the new one's
  await vi.advanceTimersByTimeAsync(LIFE_MS * RENEW_AT);
  expect(renewal.current.n).toBe(3);
});

test('while the control plane is unreachable the renewal is retried with growing, capped delays, and recovers when it answers', async () => {
  const cp = controlPlane(7);
  const retries: (number | undefined)[] = [];
  renewal = new CertificateRenewal(cert(), { fetch: cp.fetch, server: SERVER, onError: (_err, retry) => retries.push(retry), baseMs: 100, capMs: 800, random: () => 1 });
  await vi.advanceTimersByTimeAsync(LIFE_MS * RENEW_AT + 1);
  expect(cp.calls).toBe(1);
  // 0.1 + 0.2 + 0.4 + 0.8 + 0.8 + 0.8 s of retries: the seventh fetch fails, the eighth gets through.
  await vi.advanceTimersByTimeAsync(100 + 200 + 400 + 800 + 800 + 800);
  expect(cp.calls).toBe(7);
  expect(retries).toEqual([100, 200, 400, 800, 800, 800, 800]);
  // Still the first certificate: valid until the end of its life, and served to new connections meanwhile.
  expect(renewal.current.n).toBe(1);
  expect((await renewal.forNewConnection()).n).toBe(1);
  await vi.advanceTimersByTimeAsync(800);
  expect(cp.calls).toBe(8);
  expect(renewal.current.n).toBe(2);
});

test('an expired certificate and an unreachable control plane: a new connection is refused at once with the control plane named', async () => {
  const cp = controlPlane(Infinity);
  renewal = new CertificateRenewal(cert(), { fetch: cp.fetch, server: SERVER, onError: () => undefined, random: () => 1 });
  await vi.advanceTimersByTimeAsync(LIFE_MS + 1);
  const before = cp.calls;
  const err = await renewal.forNewConnection().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ClientError);
  expect((err as ClientError<string>).code).toBe(ClientErrorCode.PROXY_CONTROL_PLANE_DOWN);
  expect((err as Error).message).toMatch(/^agentdb control plane unreachable at https:\/\/cp\.example:7443: retrying \(next attempt in \d+ s\); a new connection needs a new task certificate/);
  // The connection asked the control plane itself (it may be back before the next scheduled retry) ...
  expect(cp.calls).toBe(before + 1);
  // ... but a burst of connections does not turn into a burst of requests: at most one a second.
  await Promise.all([1, 2, 3, 4, 5].map(() => renewal!.forNewConnection().catch(() => undefined)));
  expect(cp.calls).toBe(before + 1);
  await vi.advanceTimersByTimeAsync(1000);
  await renewal.forNewConnection().catch(() => undefined);
  expect(cp.calls).toBe(before + 2);
  // Back: the next connection gets a certificate.
  cp.down = 0;
  await vi.advanceTimersByTimeAsync(1000);
  expect((await renewal.forNewConnection()).expiresAt.getTime()).toBeGreaterThan(Date.now());
});

test('a login that expired is not retried in the background, and a new connection reads the control plane\'s own answer', async () => {
  const expired = () => new ClientError<string>('AGENTDB_ERR_LOGIN_SESSION_ENDED', 'the login session ended: run `agentdb login`', ExitCode.NOT_LOGGED_IN);
  const cp = controlPlane(Infinity, expired);
  const retries: (number | undefined)[] = [];
  renewal = new CertificateRenewal(cert(), { fetch: cp.fetch, server: SERVER, onError: (_err, retry) => retries.push(retry) });
  await vi.advanceTimersByTimeAsync(LIFE_MS * RENEW_AT + 1);
  await vi.advanceTimersByTimeAsync(LIFE_MS);
  expect(cp.calls).toBe(1);
  expect(retries).toEqual([undefined]);
  const err = await renewal.forNewConnection().catch((e: unknown) => e);
  expect((err as ClientError<string>).code).toBe('AGENTDB_ERR_LOGIN_SESSION_ENDED');
  expect((err as ClientError<string>).exitCode).toBe(ExitCode.NOT_LOGGED_IN);
});
