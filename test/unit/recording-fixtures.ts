// Shared by the recording tests: real sqlite stores in a temp directory and a sample header.
import type { RecordingHeader } from '../../src/recording/index.js';
import type { Store } from '../../src/store/index.js';

// Temp sqlite stores come from the audit fixtures: one helper for both.
export { tempStores } from './audit-fixtures.js';

export function header(sid: string, over: Partial<RecordingHeader> = {}): RecordingHeader {
  return {
    sid,
    identity: { name: 'order-processing-agent', kind: 'agent', roles: ['support'] },
    task: { id: 'T-1', reason: 'check refunds', requester: 'alice' },
    db: { service: 'customers', name: 'customers', user: 'order_agent' },
    client: { addr: '127.0.0.1:50000', app: 'psql' },
    startedAt: '2025-06-15T14:22:03.120Z',
    ...over,
  };
}

/** A store whose appendRecording calls are counted (sizes of each batch); the rest goes straight through. */
export function countingStore(store: Store): { store: Store; calls: number[] } {
  const calls: number[] = [];
  const wrapped = new Proxy(store, {
    get(target, prop) {
      if (prop === 'appendRecording') {
        return (records: Parameters<Store['appendRecording']>[0]) => {
          calls.push(records.length);
          return target.appendRecording(records);
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: wrapped, calls };
}
