// GET /v1/masking-plan?task=ID: which columns the gateway masks for one of the caller's tasks, and how. The
// masking follows the roles in the task's certificate, which the server chose (task-certs.ts): the plan is read
// from that certificate's cert.issued event, so a client is told exactly what applies to it, and nothing about
// tasks or roles that are not its own. `agentdb mcp` shows it in describe_table; the gateway decides alone.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuditLog } from '../audit/index.js';
import { compileMasking, describeStrategy, HASH_KEY_BYTES, type MaskingBlockInput } from '../masking/index.js';
import type { Role } from '../policy/index.js';
import { ServerErrorCode } from './errors.js';
import type { LoginSession } from './login-sessions.js';

export interface MaskedColumnView {
  schema: string;
  table: string;
  column: string;
  /** redact, email, hash, null, or "partial N" (the last N characters kept) */
  strategy: string;
}

export interface MaskingPlanView {
  task: { id: string; reason: string };
  db: { service: string; name: string; user: string };
  roles: string[];
  columns: MaskedColumnView[];
  /** content detectors run over every text value of every result */
  detectors: string[];
  /** whether a masked column may steer WHERE, JOIN, ORDER BY... */
  filters: 'deny' | 'allow';
}

export interface MaskingPlanDeps {
  authed(req: FastifyRequest): Promise<LoginSession>;
  audit: AuditLog;
  roles: Record<string, Role>;
}

const planQuery = z.object({ task: z.string().min(1).max(100) });

// Describing a plan masks no value, so the hash strategy's key is never used: a zero key keeps the real one
// (data directory, 0600) out of the API process's request path.
const UNUSED_KEY = Buffer.alloc(HASH_KEY_BYTES);

export function registerMaskingPlan(app: FastifyInstance, deps: MaskingPlanDeps): void {
  app.get('/v1/masking-plan', async (req, reply) => {
    const s = await deps.authed(req);
    const q = planQuery.safeParse(req.query ?? {});
    if (!q.success) return reply.status(400).send({ error: { code: ServerErrorCode.API_BAD_REQUEST, message: `task: ${q.error.issues[0]!.message}` } });
    const issued = (await deps.audit.search({ task: q.data.task, type: 'cert.issued', user: s.identity.name, limit: 10 }))
      .find((e) => e.task?.id === q.data.task && e.identity?.name === s.identity.name);
    if (!issued?.task || !issued.db || !issued.identity) {
      return reply.status(404).send({ error: { code: ServerErrorCode.MASKING_PLAN_NOT_FOUND, message: `no task ${q.data.task} of ${s.identity.name}` } });
    }
    const roles = issued.identity.roles;
    const m = compileMasking(roles.map((r) => deps.roles[r]?.masking as MaskingBlockInput | undefined), UNUSED_KEY);
    const columns: MaskedColumnView[] = [];
    for (const [relation, cols] of m.relations) {
      const dot = relation.indexOf('.');
      for (const [column, strategy] of cols) columns.push({ schema: relation.slice(0, dot), table: relation.slice(dot + 1), column, strategy: describeStrategy(strategy) });
    }
    const plan: MaskingPlanView = {
      task: { id: issued.task.id, reason: issued.task.reason },
      db: issued.db,
      roles,
      columns,
      detectors: [...m.detectors],
      filters: m.filters,
    };
    return plan;
  });
}
