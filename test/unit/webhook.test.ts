import { createHmac } from 'node:crypto';
import http from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { Webhook } from '../../src/server/webhook.js';
import { requestPageUrl } from '../../src/server/ui/index.js';

const servers: http.Server[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

/** A receiver that answers each request with the next status in `statuses`, keeping what it got. */
async function receiver(statuses: number[]): Promise<{ url: string; got: { body: string; signature?: string }[] }> {
  const got: { body: string; signature?: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ body, ...(req.headers['x-agentdb-signature'] ? { signature: String(req.headers['x-agentdb-signature']) } : {}) });
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, got };
}

describe('review webhook', () => {
  test('retries after a server error, and signs the body with the shared secret', async () => {
    const r = await receiver([503, 500, 200]);
    const ok = await new Webhook({ url: r.url, secret: 's3cret', backoffMs: 10 }).send({ type: 'request.created', request: { id: 'req_1' } });
    expect(ok).toBe(true);
    expect(r.got).toHaveLength(3);
    const { body, signature } = r.got[2]!;
    expect(JSON.parse(body)).toEqual({ type: 'request.created', request: { id: 'req_1' } });
    expect(signature).toBe(`sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`);
  });

  test('gives up on a client error at once, and after the last attempt otherwise, and says so', async () => {
    const failures: Error[] = [];
    const r = await receiver([404]);
    expect(await new Webhook({ url: r.url, backoffMs: 10, onFailure: (e) => failures.push(e) }).send({})).toBe(false);
    expect(r.got).toHaveLength(1);
    const r2 = await receiver([500, 500, 500]);
    expect(await new Webhook({ url: r2.url, attempts: 3, backoffMs: 10, onFailure: (e) => failures.push(e) }).send({})).toBe(false);
    expect(r2.got).toHaveLength(3);
    expect(failures.map((f) => f.message)).toEqual([expect.stringMatching(/answered 404/), expect.stringMatching(/answered 500/)]);
  });

  test('a payload about a request links to its web console page, inside what is signed', async () => {
    const r = await receiver([200, 200]);
    const hook = new Webhook({ url: r.url, secret: 's3cret', requestUrl: (id) => requestPageUrl('https://agentdb.example:7443/', id) });
    await hook.send({ type: 'request.created', request: { id: 'req_a/b' } });
    await hook.send({ type: 'other' });
    const { body, signature } = r.got[0]!;
    expect(JSON.parse(body)).toEqual({ type: 'request.created', request: { id: 'req_a/b' }, url: 'https://agentdb.example:7443/ui/requests/req_a%2Fb' });
    expect(signature).toBe(`sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`);
    expect(JSON.parse(r.got[1]!.body)).toEqual({ type: 'other' });
  });
});
