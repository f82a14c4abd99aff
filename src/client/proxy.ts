// `agentdb proxy`: a local PostgreSQL listener for any client, and an mTLS tunnel per connection to the
// gateway with a task certificate whose private key never leaves this process. After the handshake the proxy
// only moves bytes; all parsing happens once, in the gateway.
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { generateClientKey } from '../ca/index.js';
import { SSL_REFUSE, StartupReader, errorResponse, sslRequest } from '../pgwire/index.js';
import type { ApiClient } from './api-client.js';
import { ClientError } from './errors.js';

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
  const onClient = (local: net.Socket) => {
    open.add(local);
    local.on('close', () => open.delete(local));
    local.setNoDelay(true);
    local.on('error', () => local.destroy());
    const reader = new StartupReader();
    // Everything the client sent since the last SSL/GSS answer: the startup (or cancel) packet and anything
    // pipelined after it, forwarded to the gateway as is.
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
      const bytes = Buffer.concat(received);
      openTunnel().then(
        (tunnel) => {
          tunnel.on('error', () => tunnel.destroy());
          tunnel.on('close', () => local.destroy());
          local.on('close', () => tunnel.destroy());
          tunnel.write(bytes);
          if (pkt.kind === 'cancel') {
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
          if (pkt.kind !== 'startup') {
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
  const server = net.createServer({ noDelay: true }, onClient);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  let unixServer: net.Server | undefined;
  let socketPath: string | undefined;
  if (opts.socketDir) {
    await mkdir(opts.socketDir, { recursive: true, mode: 0o700 });
    socketPath = path.join(opts.socketDir, `.s.PGSQL.${port}`);
    await rm(socketPath, { force: true });
    unixServer = net.createServer(onClient);
    await new Promise<void>((resolve, reject) => {
      unixServer!.once('error', reject);
      unixServer!.listen(socketPath, () => resolve());
    });
  }
  const dbUser = held.db.users[0]!;
  const dbName = opts.dbName ?? held.db.names.find((n) => n !== '*') ?? opts.db;
  const info: ProxyInfo = {
    host,
    port,
    ...(socketPath ? { socket: socketPath } : {}),
    url: `postgres://${encodeURIComponent(dbUser)}@${host}:${port}/${encodeURIComponent(dbName)}?sslmode=disable`,
    db: opts.db,
    dbUser,
    dbName,
    task: held.task,
    expiresAt: held.expiresAt.toISOString(),
  };
  return {
    info,
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (unixServer) await new Promise<void>((resolve) => unixServer!.close(() => resolve()));
    },
  };
}
