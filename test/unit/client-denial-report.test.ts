// The proxy's reports of refused local clients: one request in flight at a time, the failures that arrive
// meanwhile folded into the next report (counted, none lost), against a small HTTP server.
import http from 'node:http';
import { afterEach, expect, test } from 'vitest';
import { ApiClient } from '../../src/client/index.js';
import { DenialReporter } from '../../src/client/denial-report.js';

let server: http.Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

test('reports made while one is in flight go out as one, with their count; long fields are cut to what the route takes', async () => {
  const bodies: Record<string, unknown>[] = [];
  let releaseFirst!: () => void;
  const firstHeld = new Promise<void>((r) => (releaseFirst = r));
  let arrived!: () => void;
  const firstArrived = new Promise<void>((r) => (arrived = r));
  server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', async () => {
      expect(req.url).toBe('/v1/audit/local-denied');
      expect(req.headers.authorization).toBe('Bearer tok');
      bodies.push(JSON.parse(text));
      if (bodies.length === 1) {
        arrived();
        await firstHeld;
      }
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const api = new ApiClient(`http://127.0.0.1:${(server.address() as { port: number }).port}`, undefined, 'tok');
  const errors: Error[] = [];
  const reporter = new DenialReporter(api, () => 'tsk_1', (e) => errors.push(e));
  try {
    reporter.report({ client: '127.0.0.1:1', reason: 'wrong proof' });
    await firstArrived;
    for (let i = 2; i <= 5; i++) reporter.report({ client: `127.0.0.1:${i}`, reason: 'x'.repeat(2000) });
    releaseFirst();
    await reporter.drain();
  } finally {
    await api.close();
  }
  expect(errors).toEqual([]);
  expect(bodies).toEqual([
    { task: 'tsk_1', client: '127.0.0.1:1', reason: 'wrong proof', attempts: 1 },
    { task: 'tsk_1', client: '127.0.0.1:5', reason: 'x'.repeat(500), attempts: 4 },
  ]);
});
