// A loopback HTTP endpoint that keeps every JSON body POSTed to it: what a review webhook announced.
import http from 'node:http';

export interface WebhookCatcher<T> {
  /** the endpoint's URL, with `path` */
  url(path?: string): string;
  /** every body received, in order */
  readonly announced: T[];
  close(): Promise<void>;
}

export async function startWebhookCatcher<T = unknown>(): Promise<WebhookCatcher<T>> {
  const announced: T[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      announced.push(JSON.parse(body) as T);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    announced,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
