// The server's YAML configuration: one zod schema, and errors that name the field and the line.
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { z } from 'zod';
import { roleSchema } from '../policy/index.js';
import { maskingBlockSchema } from '../masking/index.js';
import { IdentityError, templateClaims } from '../identity/index.js';
import { parseDuration } from './duration.js';
import { ServerErrorCode } from './errors.js';
import { DEFAULT_MAX_MESSAGE_LENGTH } from '../pgwire/index.js';

export class ConfigError extends Error {
  readonly code = ServerErrorCode.CONFIG;
}

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'host:port, e.g. 127.0.0.1:7432');
const duration = z.string().refine((s) => {
  try {
    parseDuration(s);
    return true;
  } catch {
    return false;
  }
}, 'a duration like 30m or 12h');

/** A secret is never inline in a file that may be committed: it comes from the environment or a 0600 file. */
const secretRef = z.union([
  z.object({ passwordEnv: z.string().min(1) }).strict(),
  z.object({ passwordFile: z.string().min(1) }).strict(),
  z.object({ password: z.string() }).strict(),
]);

/** The provisioning admin: its name, its secret (as secretRef), where it connects, and what tells its roles apart. */
const adminFields = {
  user: z.string().min(1),
  /** the database the admin connects to for role changes; default postgres */
  database: z.string().min(1).default('postgres'),
  /** goes into each provisioned role's name hash and marker; default `<cluster>/<service>` */
  scope: z.string().min(1).optional(),
};
const adminSchema = z.union([
  z.object({ ...adminFields, passwordEnv: z.string().min(1) }).strict(),
  z.object({ ...adminFields, passwordFile: z.string().min(1) }).strict(),
  z.object({ ...adminFields, password: z.string() }).strict(),
]);

const databaseSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(1).max(65535).default(5432),
    sslmode: z.enum(['disable', 'require', 'verify-full']).default('disable'),
    sslRootCert: z.string().optional(),
    credentials: z.record(z.string(), secretRef).default({}),
    /** a user with CREATEROLE that provisions the database user `auto` (README "Provisioned database users") */
    admin: adminSchema.optional(),
  })
  .strict();

const bindingSchema = z
  .object({
    match: z.object({ claim: z.string().min(1), values: z.array(z.string()).min(1) }).strict(),
    kind: z.enum(['human', 'agent', 'bot']).optional(),
    roles: z.array(z.string().min(1)).min(1),
  })
  .strict();

/** A CI issuer whose job tokens log in as a bot (README "CI workload identity"). */
const workloadSchema = z
  .object({
    issuer: z.string().url(),
    audience: z.string().min(1),
    /** claim -> glob or list of globs; every claim listed must be present and match */
    match: z.record(z.string().min(1), z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])).default({}),
    /** the bot's name; `{{claim}}` is replaced by the claim's value */
    identity: z.string().min(1),
    roles: z.array(z.string().min(1)).min(1),
    /** trait -> value(s), each a template like `identity`, e.g. { region: us-east } */
    traits: z.record(z.string().min(1), z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])).default({}),
  })
  .strict();

/** A token bucket: `burst` at once, then `perMinute` on average (see rate-limit.ts). */
const rateSchema = z.object({ burst: z.number().int().min(1), perMinute: z.number().positive() }).strict();
/** Connections that have not authenticated yet: caps, and the time they get to do it. */
const unauthenticatedSchema = (timeout: string) =>
  z
    .object({ total: z.number().int().min(1).default(1000), perAddress: z.number().int().min(1).default(64), timeout: duration.default(timeout) })
    .strict()
    .prefault({});

/** Below this a client's ordinary Bind or Query (a few parameters, a page of SQL) would be refused. */
const MIN_MAX_MESSAGE_BYTES = 8192;

/** What keeps one client (or a crowd of them) from taking the process down; README "Limits" says why each default. */
const limitsSchema = z
  .object({
    api: z
      .object({
        /** bytes of one request body; the largest legitimate one is a token or a CSR, a few KiB */
        bodyLimit: z.number().int().min(16 * 1024).default(64 * 1024),
        handshakeTimeout: duration.default('10s'),
        /** to receive one request's headers and body */
        requestTimeout: duration.default('30s'),
        keepAliveTimeout: duration.default('5s'),
        /** connections that have not sent a complete first request */
        unauthenticated: unauthenticatedSchema('15s'),
      })
      .strict()
      .prefault({}),
    gateway: z
      .object({
        /** connections whose certificate has not opened a session; `timeout` is PostgreSQL's authentication_timeout
         *  (60 s there too: the caps, not the deadline, bound what a crowd of slow connections holds) */
        unauthenticated: unauthenticatedSchema('60s'),
        /** the largest frontend message (its length word, as PostgreSQL counts it) a session may send; one that
         *  announces more is refused with 08P01 before any of it is buffered. Default: PostgreSQL's own, 1 GiB - 1 */
        maxMessageBytes: z.number().int().min(MIN_MAX_MESSAGE_BYTES).max(DEFAULT_MAX_MESSAGE_LENGTH).default(DEFAULT_MAX_MESSAGE_LENGTH),
      })
      .strict()
      .prefault({}),
    /** device logins waiting for the person at the IdP */
    pendingDeviceLogins: z.object({ total: z.number().int().min(1).default(1000), perAddress: z.number().int().min(1).default(10) }).strict().prefault({}),
    rates: z
      .object({
        /** a person starts one device login, or a few after typos */
        deviceLogins: z.object({ perAddress: rateSchema.default({ burst: 20, perMinute: 10 }) }).strict().prefault({}),
        /** bots and CI jobs, possibly many behind one NAT */
        tokenLogins: z.object({ perAddress: rateSchema.default({ burst: 60, perMinute: 60 }) }).strict().prefault({}),
        certs: z
          .object({ perAddress: rateSchema.default({ burst: 120, perMinute: 120 }), perIdentity: rateSchema.default({ burst: 30, perMinute: 30 }) })
          .strict()
          .prefault({}),
        requests: z
          .object({ perAddress: rateSchema.default({ burst: 60, perMinute: 60 }), perIdentity: rateSchema.default({ burst: 10, perMinute: 10 }) })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export const configSchema = z
  .object({
    cluster: z.string().default('agentdb'),
    dataDir: z.string().optional(),
    api: z
      .object({
        listen: hostPort.default('127.0.0.1:7443'),
        publicUrl: z.string().url().optional(),
        hosts: z.array(z.string()).default(['127.0.0.1', 'localhost']),
      })
      .strict()
      .default({ listen: '127.0.0.1:7443', hosts: ['127.0.0.1', 'localhost'] }),
    gateway: z
      .object({
        listen: hostPort.default('127.0.0.1:7432'),
        publicAddr: hostPort.optional(),
      })
      .strict()
      .default({ listen: '127.0.0.1:7432' }),
    auth: z
      .object({
        oidc: z
          .object({
            issuer: z.string().url(),
            clientId: z.string().min(1),
            clientSecretEnv: z.string().optional(),
            clientSecret: z.string().optional(),
            audience: z.string().min(1),
          })
          .strict(),
        sessionTtl: duration.default('12h'),
        nameClaims: z.array(z.string()).default(['preferred_username', 'email', 'client_id', 'sub']),
        groupsClaim: z.string().default('groups'),
        traitClaims: z.record(z.string(), z.string()).default({}),
        bindings: z.array(bindingSchema).default([]),
        workload: z.array(workloadSchema).default([]),
      })
      .strict(),
    review: z
      .object({
        /** announces each new review request: a JSON POST, retried */
        webhook: z.object({ url: z.string().url(), secretEnv: z.string().optional() }).strict().optional(),
      })
      .strict()
      .default({}),
    /** where the control plane keeps its state: the embedded SQLite file (default), or a PostgreSQL database
     *  that several control planes/gateways share */
    store: z
      .object({ postgres: z.object({ urlEnv: z.string().min(1), schema: z.string().optional() }).strict().optional() })
      .strict()
      .default({}),
    /** the audit log signs a checkpoint of its chain head every this many events (and on shutdown) */
    audit: z
      .object({ checkpointEvery: z.number().int().min(1).max(1_000_000).default(1000) })
      .strict()
      .default({ checkpointEvery: 1000 }),
    roles: z.record(z.string(), roleSchema).default({}),
    databases: z.record(z.string(), databaseSchema).default({}),
    limits: limitsSchema,
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type DatabaseConfig = z.infer<typeof databaseSchema>;
export type SecretRef = z.infer<typeof secretRef>;
export type LimitsConfig = z.infer<typeof limitsSchema>;

function lineOf(doc: Document, counter: LineCounter, path: PropertyKey[]): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as unknown[], true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Parses and validates config text; every problem is reported as `file:line: field: what is wrong`. */
export function parseConfig(text: string, source = 'config'): Config {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = counter.linePos(e.pos[0]).line;
    throw new ConfigError(`${source}:${line}: ${e.message.split('\n')[0]}`);
  }
  const result = configSchema.safeParse(doc.toJS() ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const field = issue.path.join('.') || '(top level)';
      // An unknown key is reported at the key itself, not at the mapping that holds it.
      const at = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
      const line = lineOf(doc, counter, at);
      return `${source}${line ? `:${line}` : ''}: ${field}: ${issue.message}`;
    });
    throw new ConfigError(lines.join('\n'));
  }
  return checkReferences(result.data, source);
}

/** Cross-field checks zod cannot see: bindings name roles that exist, roles name databases that exist. */
function checkReferences(cfg: Config, source: string): Config {
  const problems: string[] = [];
  for (const [name, db] of Object.entries(cfg.databases)) {
    if (Object.hasOwn(db.credentials, 'auto')) problems.push(`${source}: databases.${name}.credentials.auto: "auto" names the provisioned user (README "Provisioned database users"); give this credential another name`);
  }
  const loginIssuer = cfg.auth.oidc.issuer.replace(/\/$/, '');
  cfg.auth.workload.forEach((w, i) => {
    // One issuer, one kind of login: a person's or bot's IdP token is never taken as a CI job's, nor the reverse.
    if (w.issuer.replace(/\/$/, '') === loginIssuer) problems.push(`${source}: auth.workload.${i}.issuer: ${w.issuer} is the login issuer (auth.oidc.issuer); a workload issuer must be another one`);
    w.roles.forEach((r) => {
      if (!cfg.roles[r]) problems.push(`${source}: auth.workload.${i}.roles: role "${r}" is not defined under roles`);
    });
    const templates: [string, string][] = [['identity', w.identity], ...Object.entries(w.traits).flatMap(([t, v]) => [v].flat().map((x): [string, string] => [`traits.${t}`, x]))];
    for (const [field, template] of templates) {
      try {
        templateClaims(template);
      } catch (err) {
        if (!(err instanceof IdentityError)) throw err;
        problems.push(`${source}: auth.workload.${i}.${field}: ${err.message}`);
      }
    }
  });
  cfg.auth.bindings.forEach((b, i) =>
    b.roles.forEach((r) => {
      if (!cfg.roles[r]) problems.push(`${source}: auth.bindings.${i}.roles: role "${r}" is not defined under roles`);
    }),
  );
  for (const [name, role] of Object.entries(cfg.roles)) {
    if (role.masking !== undefined) {
      const r = maskingBlockSchema.safeParse(role.masking);
      if (!r.success) for (const i of r.error.issues) problems.push(`${source}: roles.${name}.masking.${i.path.join('.')}: ${i.message}`);
    }
    role.databases.forEach((g, i) => {
      if (g.service !== '*' && !cfg.databases[g.service]) {
        problems.push(`${source}: roles.${name}.databases.${i}.service: database "${g.service}" is not defined under databases`);
      } else if (g.provision && g.service !== '*' && !cfg.databases[g.service]!.admin) {
        problems.push(`${source}: roles.${name}.databases.${i}.provision: database "${g.service}" has no admin to provision users with (databases.${g.service}.admin)`);
      }
    });
    role.review?.databases.forEach((d, i) => {
      if (d !== '*' && !cfg.databases[d]) problems.push(`${source}: roles.${name}.review.databases.${i}: database "${d}" is not defined under databases`);
    });
  }
  if (problems.length) throw new ConfigError(problems.join('\n'));
  return cfg;
}

export async function loadConfig(file: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseConfig(text, file);
}

export async function resolveSecret(ref: SecretRef, what: string): Promise<string> {
  if ('password' in ref) return ref.password;
  if ('passwordEnv' in ref) {
    const v = process.env[ref.passwordEnv];
    if (v === undefined) throw new ConfigError(`${what}: environment variable ${ref.passwordEnv} is not set`);
    return v;
  }
  try {
    return (await readFile(ref.passwordFile, 'utf8')).trim();
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${ref.passwordFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

export function splitHostPort(hp: string): { host: string; port: number } {
  const i = hp.lastIndexOf(':');
  return { host: hp.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(hp.slice(i + 1)) };
}
