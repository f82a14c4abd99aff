// `agentdb audit public-key`: the key that signs audit checkpoints, PEM on stdout, its fingerprint on stderr.
import { ApiClient, ClientError } from '../../../client/index.js';
import { CliErrorCode } from '../../errors.js';

export async function publicKey(): Promise<void> {
  const k = await ApiClient.use((api) => api.get<{ keyId?: string; publicKeyPem?: string }>('/v1/audit/public-key'));
  if (!k.publicKeyPem) throw new ClientError(CliErrorCode.AUDIT_NO_KEY, 'the control plane signs no audit checkpoints');
  process.stdout.write(k.publicKeyPem);
  process.stderr.write(`${k.keyId}\n`);
}
