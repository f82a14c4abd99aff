// `agentdb proxy`: a local PostgreSQL listener for any client, and an mTLS tunnel per connection to the
// gateway with a task certificate whose private key never leaves this process. A local client first proves
// it knows this proxy's random secret (local-auth.ts); after that the proxy only moves bytes, and all
// parsing happens once, in the gateway.
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { generateClientKey } from '../ca/index.js';
import { SSL_REFUSE, SqlState, StartupReader, errorResponse, scramSecret } from '../pgwire/index.js';
import type { ApiClient } from './api-client.js';
import { ClientError, ClientErrorCode } from './errors.js';
import { refusalSqlState } from './refusal-state.js';
import { CertificateRenewal } from './cert-renewal.js';
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
  /** made once per certificate: every tunnel shares it instead of parsing the key, certificate and CA again */
  context: tls.SecureContext;
}

export interface RunningProxy {
  info: ProxyInfo;
  close(): Promise<void>;
}

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
    const context = tls.createSecureContext({ ca: r.caPem, cert: r.cert, key: key.privateKeyPem });
    return { ...r, expiresAt: new Date(r.expiresAt), issuedAt: new Date(), context };
  };
  const first = await fetchCert();
  const certs = new CertificateRenewal(first, {
    fetch: fetchCert,
    server: opts.api.server,
    onError: (err, retryInMs) => opts.onError?.(new Error(`renewing the task certificate failed: ${err.message}${retryInMs === undefined ? '' : `; retrying in ${Math.ceil(retryInMs / 1000)} s`}`)),
  });
  // The local clients' password: random per proxy, kept only as SCRAM keys for checking (and in info for
  // printing once). It never goes to the gateway or the audit log.
  const password = randomBytes(32).toString('base64url');
  const secret = scramSecret(password);
  const denials = new DenialReporter(opts.api, () => certs.current.task.id, (err) => opts.onError?.(err));

  const openTunnel = async (): Promise<tls.TLSSocket> => {
    const c = await certs.forNewConnection();
    // Direct TLS (ALPN "postgresql", as PostgreSQL 17 takes it): the gateway answers it, and it saves the
    // SSLRequest round trip and a second socket object per tunnel.
    const secure = tls.connect({
      host: c.gateway.host,
      port: c.gateway.port,
      servername: net.isIP(c.gateway.host) ? undefined : c.gateway.host,
      secureContext: c.context,
      ALPNProtocols: ['postgresql'],
    });
    secure.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
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
          tunnel.on('error', () => tunnel.destroy());
          if (kind === 'cancel') {
            // Sent even when the local client has closed already (it may send the request and close at once, as
            // PostgreSQL allows), and left for the gateway to close: the soak lost cancels both ways.
            tunnel.end(bytes);
            tunnel.resume();
            setTimeout(() => tunnel.destroy(), 10_000).unref();
            local.destroy();
            return;
          }
          if (local.destroyed) {
            tunnel.destroy();
            return;
          }
          tunnel.on('close', () => local.destroy());
          local.on('close', () => tunnel.destroy());
          tunnel.write(bytes);
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
          const code = err instanceof ClientError && err.code === ClientErrorCode.PROXY_CONTROL_PLANE_DOWN ? SqlState.UNABLE_TO_ESTABLISH_CONNECTION : refusalSqlState(err);
          local.end(errorResponse({ severity: 'FATAL', code, message: `agentdb proxy: ${err.message}` }));
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
  }).catch((err: unknown) => {
    certs.stop();
    throw err;
  });
  const port = (server.address() as net.AddressInfo).port;
  let unixServer: net.Server | undefined;
  let socketPath: string | undefined;
  if (opts.socketDir) {
    try {
      ({ server: unixServer, socketPath } = await listenOnSocketDir(opts.socketDir, port, (s, p) => onClient(s, `unix:${p}`)));
    } catch (err) {
      certs.stop();
      server.close();
      throw err;
    }
  }
  const dbUser = first.db.users[0]!;
  const dbName = opts.dbName ?? first.db.names.find((n) => n !== '*') ?? opts.db;
  const info: ProxyInfo = {
    host,
    port,
    ...(socketPath ? { socket: socketPath } : {}),
    password,
    url: `postgres://${encodeURIComponent(dbUser)}:${password}@${host}:${port}/${encodeURIComponent(dbName)}?sslmode=disable`,
    db: opts.db,
    dbUser,
    dbName,
    task: first.task,
    expiresAt: first.expiresAt.toISOString(),
  };
  return {
    info,
    async close() {
      closing = true;
      certs.stop();
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (unixServer) await new Promise<void>((resolve) => unixServer!.close(() => resolve()));
      await denials.drain();
    },
  };
}
