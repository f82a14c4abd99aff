// Connections through the gateway, one per tool call. The in-process `agentdb proxy` machinery (client/proxy.ts)
// holds the task certificate (key in this process only, renewed as the proxy renews it) and tunnels to the
// gateway; node-postgres connects to it on loopback with the proxy's own secret. A connection per call lets the
// startup's application_name name the MCP client, the tool and the call, and the gateway records that name
// in every audit event of the session (client.app), as sent: no SQL text the agent writes can change it.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ProxyInfo } from '../client/index.js';
import { cancelRequest } from '../pgwire/index.js';
import { CappedQuery, type CappedResult } from './capped-query.js';
import { McpError, McpErrorCode } from './errors.js';

export interface CallLabel {
  /** the MCP client's name from its clientInfo */
  client: string;
  tool: string;
  call: string;
}

/** "c_" and 8 random characters: short enough that the whole label fits PostgreSQL's 63-byte names. */
export function newCallId(): string {
  return `c_${randomBytes(6).toString('base64url')}`;
}

// The client's name is chosen by whoever runs the MCP client: only plain characters reach the audit log.
function clean(text: string, max: number): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, max) || 'unknown';
}

/** application_name of a call's connection: "agentdb-mcp <client> <tool> <call>". */
export function applicationName(l: CallLabel): string {
  return `agentdb-mcp ${clean(l.client, 20)} ${clean(l.tool, 16)} ${clean(l.call, 12)}`;
}

// How long a cancel request waits for the gateway to close its connection.
const CANCEL_WAIT_MS = 5000;

// The gateway's NOTICE when it holds a statement for review (gateway/session.ts tellHeld): the request's id,
// bound to this connection's statement, so no guessing which request is this call's.
const HELD_NOTICE = /^agentdb: held for review: request (\S+)$/;

export class CallConnection {
  private closedWith: Error | undefined;
  private readonly closed: Promise<never>;
  private notices: string[] = [];
  /** resolves with the request id once the gateway holds this connection's statement for review */
  readonly held: Promise<string>;

  constructor(
    readonly client: pg.Client,
    private readonly proxy: ProxyInfo,
  ) {
    this.held = new Promise((resolve) => {
      client.on('notice', (n: { severity?: string; message?: string }) => {
        const id = HELD_NOTICE.exec(n.message ?? '')?.[1];
        if (id) resolve(id);
        // Others reach the model with the result: an ignored SET of a forced setting says so in one.
        else this.notices.push(`${n.severity ?? 'NOTICE'}: ${n.message ?? ''}`);
      });
    });
    // A session the gateway ends (certificate expired, lock) fails the statement waiting on it, not the server.
    this.closed = new Promise<never>((_resolve, reject) => {
      const fail = (err?: Error) => {
        this.closedWith ??= err ?? new McpError(McpErrorCode.GATEWAY, 'the gateway closed the connection');
        reject(this.closedWith);
      };
      client.on('error', fail);
      client.on('end', () => fail());
    });
    this.closed.catch(() => undefined);
  }

  /** One statement with a row cap (capped-query.ts). */
  run(sql: string, params: (string | null)[], maxRows: number): Promise<CappedResult> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const q = new CappedQuery(sql, params, maxRows);
    void this.client.query(q as unknown as pg.QueryConfig);
    return Promise.race([q.result, this.closed]);
  }

  /** The notices PostgreSQL or the gateway sent since the last call (the held notice aside). */
  takeNotices(): string[] {
    const out = this.notices;
    this.notices = [];
    return out;
  }

  /** A simple-protocol command of our own (BEGIN READ ONLY, ROLLBACK). */
  async command(sql: string): Promise<void> {
    await Promise.race([this.client.query(sql), this.closed]);
  }

  /** Sends a CancelRequest through the proxy: a statement held for review is withdrawn by the gateway. */
  cancel(): Promise<void> {
    const c = this.client as unknown as { processID?: number; secretKey?: number };
    if (c.processID === undefined || c.secretKey === undefined) return Promise.resolve();
    const secret = Buffer.alloc(4);
    secret.writeInt32BE(c.secretKey);
    // As libpq does: write the request and wait for the other side to close. Closing first would let the
    // proxy drop the request before its tunnel to the gateway is open.
    return new Promise((resolve) => {
      const s = net.connect({ host: this.proxy.host, port: this.proxy.port }, () => s.write(cancelRequest(c.processID!, secret)));
      const timer = setTimeout(() => s.destroy(), CANCEL_WAIT_MS);
      s.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
      s.on('error', () => s.destroy());
    });
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

export class GatewayConnections {
  constructor(private readonly proxy: ProxyInfo) {}

  async open(label: CallLabel): Promise<CallConnection> {
    const client = new pg.Client({
      host: this.proxy.host,
      port: this.proxy.port,
      user: this.proxy.dbUser,
      password: this.proxy.password,
      database: this.proxy.dbName,
      application_name: applicationName(label),
      ssl: false,
    });
    const conn = new CallConnection(client, this.proxy);
    try {
      await client.connect();
    } catch (err) {
      // What the proxy or the gateway said (FATAL ErrorResponse), without pg's connection details.
      throw new McpError(McpErrorCode.GATEWAY, `cannot open a session through the gateway: ${(err as Error).message}`);
    }
    return conn;
  }
}
