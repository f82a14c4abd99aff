// Announces review requests to a chat bridge or pager: a JSON POST, signed when a secret is set, retried
// with backoff. Delivery never blocks the statement that caused it.
import { createHmac } from 'node:crypto';
import { request } from 'undici';

export interface WebhookOptions {
  url: string;
  /** HMAC-SHA256 key; the signature goes in X-Agentdb-Signature: sha256=<hex> */
  secret?: string;
  attempts?: number;
  /** first retry delay; doubles each time */
  backoffMs?: number;
  onFailure?: (err: Error) => void;
  /** the web console's page of a request: a payload about one gets it as `url`, so a chat message leads straight there */
  requestUrl?: (requestId: string) => string;
}

export class Webhook {
  constructor(private readonly opts: WebhookOptions) {}

  /** Fire and forget; resolves when delivered or given up (for tests). */
  send(payload: unknown): Promise<boolean> {
    const id = (payload as { request?: { id?: unknown } } | undefined)?.request?.id;
    const body = JSON.stringify(typeof id === 'string' && this.opts.requestUrl ? { ...(payload as object), url: this.opts.requestUrl(id) } : payload);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'agentdb-webhook' };
    if (this.opts.secret) headers['x-agentdb-signature'] = `sha256=${createHmac('sha256', this.opts.secret).update(body).digest('hex')}`;
    const attempts = this.opts.attempts ?? 5;
    const backoff = this.opts.backoffMs ?? 1000;
    return (async () => {
      let lastError: Error | undefined;
      for (let i = 0; i < attempts; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, backoff * 2 ** (i - 1)).unref());
        try {
          const res = await request(this.opts.url, { method: 'POST', headers, body, headersTimeout: 10_000, bodyTimeout: 10_000 });
          await res.body.dump();
          if (res.statusCode < 300) return true;
          lastError = new Error(`webhook ${this.opts.url} answered ${res.statusCode}`);
          // A 4xx other than 429 will not get better by retrying.
          if (res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 429) break;
        } catch (err) {
          lastError = err as Error;
        }
      }
      this.opts.onFailure?.(lastError ?? new Error('webhook failed'));
      return false;
    })();
  }
}
