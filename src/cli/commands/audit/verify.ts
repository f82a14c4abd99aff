// `agentdb audit verify`: the control plane checks its hash chain and its newest signed checkpoint (a cut tail
// fails naming it). With --file, an export is checked offline here (chain, signatures, closing checkpoint).
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ApiClient, ClientError } from '../../../client/index.js';
import type { Checkpoint } from '../../../audit/index.js';
import { UsageError } from '../../exit-codes.js';
import { CliErrorCode } from '../../errors.js';

export interface VerifyFlags { file?: string; publicKey?: string }

interface VerifyAnswer {
  ok: boolean;
  count: number;
  broken?: { index: number; id: string; reason: string };
  checkpoint?: { checkpoint: Checkpoint; events?: number };
  keyId?: string;
}

export async function verify(f: VerifyFlags): Promise<void> {
  if (f.file !== undefined) return verifyFile(f.file, f.publicKey);
  if (f.publicKey !== undefined) throw new UsageError('--public-key goes with --file');
  const r = await ApiClient.use((api) => api.get<VerifyAnswer>('/v1/audit/verify'));
  if (!r.ok) {
    const at = r.broken?.id ? `at event #${r.broken.index} (${r.broken.id})` : `after ${r.count} events`;
    throw new ClientError(CliErrorCode.AUDIT_BROKEN, `audit log broken ${at}: ${r.broken?.reason}`);
  }
  process.stdout.write(`Audit log intact: ${r.count} events, hash chain verified.\n`);
  const cp = r.checkpoint;
  process.stdout.write(cp ? `Last signed checkpoint: ${cp.checkpoint.time}, covers ${cp.events} events (head ${cp.checkpoint.headHash.slice(0, 16)}…).\n` : 'No signed checkpoint yet.\n');
  if (r.keyId) process.stdout.write(`Signing key: ${r.keyId}\n`);
}

async function verifyFile(file: string, publicKey?: string): Promise<void> {
  const { verifyExport } = await import('../../../audit/index.js');
  const pem = publicKey === undefined ? undefined : await readFile(publicKey, 'utf8').catch((err: Error) => {
    throw new UsageError(`--public-key ${publicKey}: ${err.message}`);
  });
  const input = createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => input.once('open', () => resolve()).once('error', reject));
  await opened.catch((err: Error) => {
    throw new UsageError(`--file ${file}: ${err.message}`);
  });
  let r;
  try {
    r = await verifyExport(createInterface({ input, crlfDelay: Infinity }), pem);
  } catch (err) {
    throw new ClientError(CliErrorCode.AUDIT_BROKEN, `export ${file} cannot be checked: ${(err as Error).message}`);
  }
  if (!r.ok) throw new ClientError(CliErrorCode.AUDIT_BROKEN, `export ${file} fails verification: ${r.fault}`);
  process.stdout.write(`Export intact: ${r.events} events, hash chain and checkpoints verified.\n`);
  if (r.lastCheckpoint) process.stdout.write(`Last log checkpoint in it: ${r.lastCheckpoint.time} (head ${r.lastCheckpoint.headHash.slice(0, 16)}…).\n`);
  process.stdout.write(
    r.pinned
      ? `Signing key: ${r.keyId} (pinned with --public-key).\n`
      : `Signing key: ${r.keyId} (embedded in the export, not pinned: compare it with \`agentdb audit verify\`, or pass --public-key).\n`,
  );
}
