// GET /v1/audit/export?since=&format=jsonl|ocsf: the audit log as lines for a SIEM, ending with a checkpoint
// signed now, so `agentdb audit verify --file` checks it offline. GET /v1/audit/public-key: the key that signs
// checkpoints, to pin. Both for auditors only, as search is.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AuditError, AuditErrorCode, EXPORT_FORMATS, exportLine, type AuditLog } from '../audit/index.js';
import { parseTimeOrAgo } from './duration.js';

export interface AuditExportDeps {
  /** resolves when the caller may read the audit log; throws the API's 401/403 otherwise */
  auditor(req: FastifyRequest): Promise<unknown>;
  /** the API's query parsing (a 400 with the field named) */
  parse<T>(schema: z.ZodType<T>, value: unknown): T;
  audit: AuditLog;
}

const exportQuery = z.object({ since: z.string().max(100).optional(), format: z.enum(EXPORT_FORMATS).default('jsonl') });

export function registerAuditExport(app: FastifyInstance, deps: AuditExportDeps): void {
  app.get('/v1/audit/public-key', async (req) => {
    await deps.auditor(req);
    return deps.audit.signingKey ?? {};
  });

  app.get('/v1/audit/export', async (req, reply) => {
    await deps.auditor(req);
    const q = deps.parse(exportQuery, req.query);
    const since = q.since ? parseTimeOrAgo(q.since) : undefined;
    const signing = deps.audit.signingKey;
    // Checked before the 200 goes out: an export nobody can verify is refused, not streamed.
    if (signing === undefined) throw new AuditError(AuditErrorCode.NO_KEY, 'this server signs no audit checkpoints: an export could not be verified');
    const pem = signing.publicKeyPem;
    const items = deps.audit.exportItems(since);
    async function* lines(): AsyncGenerator<string> {
      for await (const item of items) yield `${exportLine(item, q.format, pem)}\n`;
    }
    return reply.type('application/x-ndjson').send(Readable.from(lines()));
  });
}
