// `agentdb audit export`: the audit log as JSONL (canonical) or OCSF lines on stdout, ending with a checkpoint the
// control plane signs at the time of export; `agentdb audit verify --file` checks the file offline.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { ApiClient } from '../../../client/index.js';
import { EXPORT_FORMATS } from '../../../audit/index.js';
import { UsageError } from '../../exit-codes.js';

export interface ExportFlags { since?: string; format: string }

export async function exportAudit(f: ExportFlags): Promise<void> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(f.format)) throw new UsageError(`--format ${f.format}: use ${EXPORT_FORMATS.join(' or ')}`);
  const params = new URLSearchParams({ format: f.format, ...(f.since ? { since: f.since } : {}) });
  await ApiClient.use(async (api) => {
    const body = await api.stream(`/v1/audit/export?${params}`);
    await pipeline(Readable.from(body), process.stdout, { end: false });
  });
}
