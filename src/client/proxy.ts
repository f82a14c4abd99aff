// `agentdb proxy`: a local PostgreSQL listener for any client, and an mTLS tunnel per connection to the
// gateway with a task certificate whose private key never leaves this process. A local client first proves
// it knows this proxy's random secret (local-auth.ts); after that the proxy only moves bytes, and all
// parsing happens once, in the gateway.
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { generateClientKey } from '../ca/index.js';
import { SSL_REFUSE, StartupReader, errorResponse, scramSecret, sslRequest } from '../pgwire/index.js';
import type { ApiClient } from './api-client.js';
import { ClientError } from './errors.js';
import { authenticateLocalClient } from './local-auth.js';
import { DenialReporter } from './denial-report.js';
import { listenOnSocketDir } from './socket-dir.js';

export interface ProxyOptions {
  api: ApiClient;
  identity: string;
  db: string;
  dbUser?: string;
  dbName?: string;
  task?: string;
  ttl?: string;
  host?: string;
  port?: number;
  /** also listen on a unix socket in this directory, named as psql expects (.s.PGSQL.<port>) */
  socketDir?: string;
  onError?: (err: Error) => void;
}

export interface ProxyInfo {
  host: string;
  port: number;
  socket?: string;
  /** this proxy's secret, which every local client must give as its PostgreSQL password; also in url */
  password: string;
  url: string;
  db: string;
  dbUser: string;
  dbName: string;
  task: { id: string; reason: string };
  expiresAt: string;
}

interface HeldCert {
  cert: string;
  expiresAt: Date;
  issuedAt: Date;
  task: { id: string; reason: string };
  db: { service: string; names: string[]; users: string[] };
  gateway: { host: string; port: number };
  caPem: string;
}

export interface RunningProxy {
  info: ProxyInfo;
  close(): Promise<void>;
}

// A fresh certificate is fetched once two thirds of the current one's life has passed, for new connections.
const RENEW_AT = 2 / 3;

export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const key = await generateClientKey();
  const csr = await key.csr(opts.identity);
  const fetchCert = async (): Promise<HeldCert> => {
    const r = await opts.api.post<{ cert: string; expiresAt: string; task: HeldCert['task']; db: HeldCert['db']; gateway: HeldCert['gateway']; caPem: string }>('/v1/certs', {
      csr,
      db: opts.db,
      ...(opts.dbUser ? { dbUser: opts.dbUser } : {}),
      ...(opts.dbName ? { dbName: opts.dbName } : {}),
      ...(opts.task ? { task: opts.task } : {}),
      ...(opts.ttl ? { ttl: opts.ttl } : {}),
    });
    return { ...r, expiresAt: new Date(r.expiresAt), issuedAt: new Date() };
  };
  let held = await fetchCert();
  // The local clients' password: random per proxy, kept only as SCRAM keys for checking (and in info for
  // printing once). It never goes to the gateway or the audit log.
  const password = randomBytes(32).toString('base64url');
  const secret = scramSecret(password);
  const denials = new DenialReporter(opts.api, () => held.task.id, (err) => opts.onError?.(err));
  let renewing: Promise<void> | undefined;
  const current = async (): Promise<HeldCert> => {
    const life = held.expiresAt.getTime() - held.issuedAt.getTime();
    if (Date.now() > held.issuedAt.getTime() + life * RENEW_AT) {
      renewing ??= fetchCert().then((c) => { held = c; }).finally(() => { renewing = undefined; });
      // An expired certificate cannot be used; a still-valid one can while the new one arrives.
      if (held.expiresAt.getTime() <= Date.now()) await renewing;
      else renewing.catch((err: Error) => opts.onError?.(err));
    }
    return held;
  };

  const openTunnel = async (): Promise<tls.TLSSocket> => {
    const c = await current();
    const raw = net.connect({ host: c.gateway.host, port: c.gateway.port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      raw.once('connect', resolve);
      raw.once('error', reject);
    });
    raw.write(sslRequest());
    const answer = await new Promise<Buffer>((resolve, reject) => {
      raw.once('data', resolve);
      raw.once('error', reject);
    });
    if (answer[0] !== 0x53) throw new ClientError('AGENTDB_ERR_PROXY_GATEWAY', `the gateway at ${c.gateway.host}:${c.gateway.port} does not speak TLS`);
    const secure = tls.connect({
      socket: raw,
      host: c.gateway.host,
      servername: net.isIP(c.gateway.host) ? undefined : c.gateway.host,
      ca: c.caPem,
      cert: c.cert,
      key: key.privateKeyPem,
      ALPNProtocols: ['postgresql'],
    });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    secure.setNoDelay(true);
    return secure;
  };

  const open = new Set<net.Socket>();
  // Set by close(): clients cut off mid-authentication by our own shutdown are not refusals to report.
  let closing = false;
  const onClient = (local: net.Socket, clientAddr: string) => {
    open.add(local);
    local.on('close', () => open.delete(local));
    local.setNoDelay(true);
    local.on('error', () => local.destroy());
    const reader = new StartupReader();
    // Everything the client sent since the last SSL/GSS answer: the startup (or cancel) packet, forwarded to
    // the gateway as is, and anything pipelined after it (the start of the password exchange).
    let received: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      let pkt;
      received.push(chunk);
      try {
        pkt = reader.feed(chunk);
      } catch {
        local.destroy();
        return;
      }
      if (!pkt) return;
      // The local leg is loopback: no TLS here; the tunnel to the gateway is where TLS is.
      if (pkt.kind === 'ssl' || pkt.kind === 'gssenc') {
        local.write(SSL_REFUSE);
        received = [];
        const rest = reader.takeRemainder();
        if (rest.length) onData(rest);
        return;
      }
      local.off('data', onData);
      local.pause();
      const rest = reader.takeRemainder();
      const all = Buffer.concat(received);
      const bytes = all.subarray(0, all.length - rest.length);
      // A cancel request carries its own secret (the key only a logged-in session was given): no password.
      if (pkt.kind === 'cancel') {
        relay(bytes, pkt.kind);
        return;
      }
      authenticateLocalClient(local, secret, pkt.params.user ?? '', rest).then(
        () => relay(bytes, pkt.kind),
        // Only clients that sent a StartupMessage get here: a bare port probe is not reported.
        (err: Error) => {
          if (!closing) denials.report({ client: clientAddr, reason: err.message });
        },
      );
    };
    const relay = (bytes: Buffer, kind: 'startup' | 'cancel') => {
      openTunnel().then(
        (tunnel) => {
          if (local.destroyed) {
            tunnel.destroy();
            return;
          }
          tunnel.on('error', () => tunnel.destroy());
          tunnel.on('close', () => local.destroy());
          local.on('close', () => tunnel.destroy());
          tunnel.write(bytes);
          if (kind === 'cancel') {
            tunnel.end();
            local.destroy();
            return;
          }
          local.pipe(tunnel);
          tunnel.pipe(local);
          local.resume();
        },
        (err: Error) => {
          opts.onError?.(err);
          if (kind !== 'startup') {
            local.destroy();
            return;
          }
          // Told why, the client can say so ("FATAL: agentdb proxy: ... run `agentdb login`"); a bare close only
          // reads as "server closed the connection unexpectedly".
          const refused = err instanceof ClientError && (err.exitCode === 3 || err.exitCode === 4);
          local.end(errorResponse({ severity: 'FATAL', code: refused ? '28000' : '08006', message: `agentdb proxy: ${err.message}` }));
          setTimeout(() => local.destroy(), 1000).unref();
        },
      );
    };
    local.on('data', onData);
  };

  const host = opts.host ?? '127.0.0.1';
  const server = net.createServer({ noDelay: true }, (s) => onClient(s, `${s.remoteAddress ?? ''}:${s.remotePort ?? ''}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  let unixServer: net.Server | undefined;
  let socketPath: string | undefined;
  if (opts.socketDir) {
    try {
      ({ server: unixServer, socketPath } = await listenOnSocketDir(opts.socketDir, port, (s, p) => onClient(s, `unix:${p}`)));
    } catch (err) {
      server.close();
      throw err;
    }
  }
  const dbUser = held.db.users[0]!;
  const dbName = opts.dbName ?? held.db.names.find((n) => n !== '*') ?? opts.db;
  const info: ProxyInfo = {
    host,
    port,
    ...(socketPath ? { socket: socketPath } : {}),
    password,
    url: `postgres://${encodeURIComponent(dbUser)}:${password}@${host}:${port}/${encodeURIComponent(dbName)}?sslmode=disable`,
    db: opts.db,
    dbUser,
    dbName,
    task: held.task,
    expiresAt: held.expiresAt.toISOString(),
  };
  return {
    info,
    async close() {
      closing = true;
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (unixServer) await new Promise<void>((resolve) => unixServer!.close(() => resolve()));
      await denials.drain();
    },
  };
}
