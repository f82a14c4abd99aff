import { ApiClient } from '../../../client/index.js';
import { printJson } from '../../output.js';

export interface StatusOptions {
  format: string;
}

export async function run(opts: StatusOptions): Promise<void> {
  const { api, profile } = await ApiClient.fromProfile();
  try {
    const me = await api.get<{ identity: { name: string; kind: string; roles: string[]; traits: Record<string, string[]> }; expiresAt: string }>('/v1/whoami');
    if (opts.format === 'json') printJson({ server: profile.server, ...me });
    else {
      process.stdout.write(
        `Logged in as ${me.identity.name} (${me.identity.kind}) to ${profile.server}\nRoles: ${me.identity.roles.join(', ')}\nValid until: ${me.expiresAt}\n`,
      );
    }
  } finally {
    await api.close();
  }
}
