// The roles of `agentdb demo` and `--dev`. One place, so the policy corpus test decides statements with
// exactly the rules the demo runs (test/fixtures/policy-corpus.yaml).
import type { RoleInput } from '../../policy/index.js';

/** The PostgreSQL group role the demo agent's provisioned user is granted (dev-cluster.ts creates it). */
export const DEMO_AGENT_GROUP = 'customers_agent';

/**
 * The demo roles, for the sample database `database` (behind the database service "customers"). With
 * `provisionAgent`, the demo agent logs in as a database user made for it per session (README "Provisioned
 * database users"); otherwise as the shared app_rw.
 */
export function demoRoles(database: string, provisionAgent = false): Record<string, RoleInput> {
  return {
    'demo-agent': {
      description: 'what an AI agent may do on the sample database',
      maxTtl: '1h',
      databases: [
        provisionAgent
          ? { service: 'customers', names: [database], users: ['auto'], provision: { roles: [DEMO_AGENT_GROUP], mode: 'drop' } }
          : { service: 'customers', names: [database], users: ['app_rw'] },
      ],
      // The shipped agent rules (no DDL/DCL, DO, CALL, COPY PROGRAM/file, role changes, server functions;
      // UPDATE/DELETE without WHERE held for review) come before these.
      defaults: 'agent-safe',
      rules: [
        {
          name: 'session-housekeeping',
          action: 'allow',
          match: { kinds: ['transaction', 'show', 'cursor', 'deallocate', 'empty'] },
        },
        {
          name: 'client-settings',
          action: 'allow',
          match: {
            kinds: ['set'],
            settings: [
              'client_encoding', 'datestyle', 'timezone', 'intervalstyle', 'extra_float_digits',
              'client_min_messages', 'bytea_output', 'transaction_*',
            ],
          },
        },
        {
          // System catalogs are read for schema introspection (psql \d, ORMs); the sensitive ones are refused
          // by agent-safe:no-sensitive-catalogs first.
          name: 'read-customers-and-orders',
          action: 'allow',
          match: {
            kinds: ['select', 'copy-out', 'explain'],
            reads: ['public.customers', 'public.orders', 'public.orders_id_seq', 'pg_catalog.*', 'information_schema.*'],
          },
        },
        {
          name: 'write-orders',
          action: 'allow',
          match: { kinds: ['insert', 'update', 'copy-in'], writes: ['public.orders'], reads: ['public.customers', 'public.orders'] },
        },
      ],
      // Row-level security on orders reads app.region (sample-data.ts). lock_timeout (10s) and
      // idle_in_transaction_session_timeout (60s) are forced on every agent (AGENT_SESSION_DEFAULTS).
      session: { settings: { statement_timeout: '30s', 'app.region': '{{traits.region}}' } },
      // A task may read every sample table a few times over (customers ~0.3 MB, orders ~0.4 MB as rows) but
      // not more than a model's context can hold anyway (4 MB is about a million tokens); an hour of tasks,
      // five times that, however many tasks the agent starts.
      budget: { rows: 10_000, bytes: 4_000_000, perIdentity: { rows: 50_000, bytes: 20_000_000, window: '1h' } },
      // An UPDATE the rules allow runs at once when it changes at most 100 rows (counted first, rolled back);
      // more, whatever its WHERE looks like, and a person decides.
      review: { rowsOver: 100 },
      // Sensitive columns never reach the agent as they are, whatever SQL it writes; content detectors back that
      // up in every text value; filtering on a masked column is refused (it would read the value back).
      masking: {
        columns: {
          'public.customers.email': 'email',
          'public.customers.phone': { partial: 4 },
          'public.customers.card_number': { partial: 4 },
          'public.customers.ssn': 'redact',
        },
        detectors: 'all',
      },
    },
    analyst: {
      description: 'read-only look at the sample data; requested just in time (agentdb request create --role analyst)',
      maxTtl: '30m',
      databases: [{ service: 'customers', names: [database], users: ['app_ro'] }],
      defaults: 'agent-safe',
      rules: [
        { name: 'read-only', action: 'allow', match: { kinds: ['select', 'show', 'transaction', 'empty'], reads: ['public.customers', 'public.orders', 'pg_catalog.*'] } },
      ],
    },
    support: {
      description: 'people who look into customer problems',
      maxTtl: '8h',
      audit: true,
      databases: [{ service: 'customers', names: [database], users: ['app_ro', 'app_rw'] }],
      review: { databases: ['customers'] },
      // People see the orders of their own region too (row-level security, sample-data.ts).
      session: { settings: { 'app.region': '{{traits.region}}' } },
    },
    reviewer: {
      description: 'reviews held statements and reads the audit log',
      maxTtl: '1h',
      audit: true,
      databases: [{ service: 'customers', names: [database], users: ['app_ro'] }],
      review: { databases: ['customers'] },
    },
  };
}
