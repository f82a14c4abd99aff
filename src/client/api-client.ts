// The control plane's API as the CLI sees it: HTTPS with the cluster's CA pinned, bearer token, and errors
// turned into one line plus the CLI's exit code.
import type { Agent } from 'undici';
import { ClientError, ClientErrorCode } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { loadToken } from './keystore.js';
import { readProfile, DEFAULT_SERVER, type Profile } from './profile.js';

export class ApiClient {
  // undici loads with the first request, not with this module: every CLI command imports the client, and
  // `agentdb status` without a login (or --help) should answer in tens of milliseconds.
  private http?: Promise<{ dispatcher: Agent; request: typeof import('undici').request }>;

  constructor(
    readonly server: string,
    private readonly caPem: string | undefined,
    private token?: string,
  ) {}

  private connect(): Promise<{ dispatcher: Agent; request: typeof import('undici').request }> {
    this.http ??= import('undici').then(({ Agent, request }) => ({
      // An idle connection is given up well before the server closes it (its Keep-Alive hint, 5 s by default,
      // less 2 s): a request sent on a socket the server is closing fails with ECONNRESET (seen in the soak).
      dispatcher: new Agent({ connect: this.caPem ? { ca: this.caPem } : {}, keepAliveTimeout: 3_000, keepAliveTimeoutThreshold: 2_000 }),
      request,
    }));
    return this.http;
  }

  /** The client for the logged-in profile; exit code 3 when there is none. */
  static async fromProfile(opts: { requireLogin?: boolean } = {}): Promise<{ api: ApiClient; profile: Profile }> {
    const profile = (await readProfile()) ?? { server: DEFAULT_SERVER };
    const token = await loadToken(profile.server);
    if (opts.requireLogin !== false && (!token || !profile.identity)) {
      throw new ClientError(ClientErrorCode.NOT_LOGGED_IN, 'not logged in: run `agentdb login`', ExitCode.NOT_LOGGED_IN);
    }
    if (opts.requireLogin !== false && profile.expiresAt && new Date(profile.expiresAt) <= new Date()) {
      throw new ClientError(ClientErrorCode.LOGIN_EXPIRED, `your login expired at ${profile.expiresAt}: run \`agentdb login\``, ExitCode.NOT_LOGGED_IN);
    }
    return { api: new ApiClient(profile.server, profile.caPem, token), profile };
  }

  /** Runs `fn` with the logged-in profile's client, closing it afterwards. */
  static async use<T>(fn: (api: ApiClient) => Promise<T>): Promise<T> {
    const { api } = await ApiClient.fromProfile();
    try {
      return await fn(api);
    } finally {
      await api.close();
    }
  }

  setToken(token: string): void {
    this.token = token;
  }

  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, opts: { okStatuses?: number[] } = {}): Promise<{ status: number; data: T }> {
    const { dispatcher, request } = await this.connect();
    let res;
    try {
      res = await request(new URL(path, this.server), {
        method,
        dispatcher,
        headers: {
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
      });
    } catch (err) {
      const e = err as { code?: string; message: string };
      const hint = e.code?.startsWith('ERR_TLS') || /certificate/i.test(e.message) ? ' (is --ca-file the cluster\'s ca.pem?)' : '';
      throw new ClientError(ClientErrorCode.UNREACHABLE, `cannot reach the agentdb control plane at ${this.server}: ${e.message}${hint}`);
    }
    const text = await res.body.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      throw new ClientError(ClientErrorCode.BAD_RESPONSE, `the control plane at ${this.server} answered ${res.statusCode} with something that is not JSON`);
    }
    if (res.statusCode >= 400 && !opts.okStatuses?.includes(res.statusCode)) throw apiFailure(res.statusCode, data);
    return { status: res.statusCode, data: data as T };
  }

  async get<T>(path: string): Promise<T> {
    return (await this.call<T>('GET', path)).data;
  }

  /** A GET whose answer is streamed (audit export) rather than read whole as JSON; errors as `call`'s. */
  async stream(path: string): Promise<AsyncIterable<Buffer>> {
    const { dispatcher, request } = await this.connect();
    let res;
    try {
      res = await request(new URL(path, this.server), { method: 'GET', dispatcher, headers: this.token ? { authorization: `Bearer ${this.token}` } : {}, headersTimeout: 60_000 });
    } catch (err) {
      throw new ClientError(ClientErrorCode.UNREACHABLE, `cannot reach the agentdb control plane at ${this.server}: ${(err as Error).message}`);
    }
    if (res.statusCode >= 400) throw apiFailure(res.statusCode, await res.body.json().catch(() => ({})));
    return res.body;
  }

  async post<T>(path: string, body: unknown = {}): Promise<T> {
    return (await this.call<T>('POST', path, body)).data;
  }

  async close(): Promise<void> {
    if (this.http) await (await this.http).dispatcher.close();
  }
}

/** The API's error answer as the CLI reports it: its code and message, exit 3 for 401 and 4 for 403. */
function apiFailure(status: number, data: unknown): ClientError<string> {
  const err = (data as { error?: { code?: string; message?: string } }).error;
  const exit = status === 401 ? ExitCode.NOT_LOGGED_IN : status === 403 ? ExitCode.DENIED : ExitCode.FAILURE;
  return new ClientError<string>(err?.code ?? ClientErrorCode.API, err?.message ?? `the control plane answered ${status}`, exit);
}
