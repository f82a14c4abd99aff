// Storage for the development IdP: one in-memory store per IdP instance. oidc-provider's own
// in-memory adapter is shared process-wide and announces itself on the console at start; the demo
// and the tests run several IdPs in one process and want silence.
import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  /** epoch ms; Infinity when the model has no expiry */
  expiresAt: number;
}

/** Models whose records belong to a grant and go when the grant is revoked. */
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
/** Sweep expired records every this many writes, so a long demo does not grow without bound. */
const SWEEP_EVERY = 256;

export function memoryAdapterFactory(): (model: string) => Adapter {
  const records = new Map<string, Entry>();
  const sessionByUid = new Map<string, string>();
  const deviceCodeByUserCode = new Map<string, string>();
  const keysByGrant = new Map<string, Set<string>>();
  let writes = 0;

  const live = (key: string | undefined): AdapterPayload | undefined => {
    if (key === undefined) return undefined;
    const entry = records.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      records.delete(key);
      return undefined;
    }
    return entry.payload;
  };

  const sweep = (): void => {
    const now = Date.now();
    for (const [key, entry] of records) if (entry.expiresAt <= now) records.delete(key);
    for (const [uid, key] of sessionByUid) if (!records.has(key)) sessionByUid.delete(uid);
    for (const [code, key] of deviceCodeByUserCode) if (!records.has(key)) deviceCodeByUserCode.delete(code);
    for (const [grant, keys] of keysByGrant) {
      for (const key of keys) if (!records.has(key)) keys.delete(key);
      if (keys.size === 0) keysByGrant.delete(grant);
    }
  };

  return (model: string): Adapter => {
    const keyOf = (id: string): string => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        const key = keyOf(id);
        const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
        records.set(key, { payload, expiresAt });
        if (model === 'Session' && payload.uid) sessionByUid.set(payload.uid, key);
        if (payload.userCode) deviceCodeByUserCode.set(payload.userCode, key);
        if (GRANTABLE.has(model) && payload.grantId) {
          const keys = keysByGrant.get(payload.grantId) ?? new Set<string>();
          keys.add(key);
          keysByGrant.set(payload.grantId, keys);
        }
        if (++writes % SWEEP_EVERY === 0) sweep();
      },
      async find(id) {
        return live(keyOf(id));
      },
      async findByUid(uid) {
        return live(sessionByUid.get(uid));
      },
      async findByUserCode(userCode) {
        return live(deviceCodeByUserCode.get(userCode));
      },
      async consume(id) {
        const payload = live(keyOf(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        records.delete(keyOf(id));
      },
      async revokeByGrantId(grantId) {
        for (const key of keysByGrant.get(grantId) ?? []) records.delete(key);
        keysByGrant.delete(grantId);
      },
    };
  };
}
