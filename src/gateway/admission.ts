// Admission of connections that have not proved anything yet (no TLS client certificate checked, no request
// read): caps in total and per source address, and one absolute deadline each. An idle timer alone would let
// a client trickle a byte now and then and hold its socket forever; the caps keep one address (or a crowd of
// them) from taking every file descriptor the process has, which the API and the gateway share.
import { isIPv6, type Socket } from 'node:net';

export interface AdmissionLimits {
  /** connections not yet authenticated, from all addresses together */
  total: number;
  /** the same, from one source address */
  perAddress: number;
  /** how long a connection may take to authenticate (PostgreSQL's authentication_timeout) */
  timeoutMs: number;
}

export interface AdmissionTicket {
  /** The connection authenticated or closed: it no longer counts. Idempotent. */
  release(): void;
}

interface Held {
  timer: NodeJS.Timeout;
  /** closes the connection: its deadline passed, or it was evicted for a newcomer */
  close: () => void;
}

export class Admission {
  /** per address key, the connections it holds, oldest first (a Set keeps insertion order) */
  private readonly byAddress = new Map<string, Set<Held>>();
  private count = 0;
  /** connections closed at once because a cap was reached (for logs and tests) */
  refused = 0;
  /** connections closed to make room for a newcomer from a lighter address */
  evicted = 0;

  constructor(private readonly limits: AdmissionLimits) {}

  /** unauthenticated connections held now */
  get size(): number {
    return this.count;
  }

  /**
   * A ticket for a new connection from `address`, or undefined when its address is at its cap (close it at
   * once). When all places are taken, the address holding the most gives up its oldest connection, provided
   * it holds more than the newcomer's address would: a crowd of addresses cannot lock a single client out
   * for the whole timeout. `close` runs if the ticket is still held when the deadline passes, or on eviction.
   */
  admit(address: string | undefined, close: () => void): AdmissionTicket | undefined {
    const key = addressKey(address);
    const mine = this.byAddress.get(key);
    const held = mine?.size ?? 0;
    if (held >= this.limits.perAddress || (this.count >= this.limits.total && !this.evictFor(held + 1))) {
      this.refused++;
      return undefined;
    }
    const set = mine ?? new Set<Held>();
    if (!mine) this.byAddress.set(key, set);
    this.count++;
    const entry: Held = { timer: setTimeout(close, this.limits.timeoutMs), close };
    entry.timer.unref();
    set.add(entry);
    return { release: () => this.release(key, set, entry) };
  }

  private release(key: string, set: Set<Held>, entry: Held): void {
    if (!set.delete(entry)) return;
    clearTimeout(entry.timer);
    this.count--;
    if (set.size === 0 && this.byAddress.get(key) === set) this.byAddress.delete(key);
  }

  /** Closes the oldest connection of the heaviest address if it holds more than `than`; true if it did. */
  private evictFor(than: number): boolean {
    let heaviest: [string, Set<Held>] | undefined;
    for (const e of this.byAddress) if (!heaviest || e[1].size > heaviest[1].size) heaviest = e;
    if (!heaviest || heaviest[1].size <= than) return false;
    const [key, set] = heaviest;
    const oldest = set.values().next().value!;
    this.release(key, set, oldest);
    this.evicted++;
    oldest.close();
    return true;
  }
}

/**
 * The key a source address is counted under. An IPv6 client usually holds a whole /64, so counting single
 * addresses there would give it 2^64 caps; an IPv4-mapped address is its IPv4 address.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return '?';
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!isIPv6(address)) return address;
  return `${expandIPv6(address).slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head, tail] = address.split('%')[0]!.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}

/** One connection's four-tuple: what a raw socket and the TLS socket layered on it have in common. */
export function connectionKey(s: Socket): string {
  return `${s.remoteAddress}|${s.remotePort}|${s.localAddress}|${s.localPort}`;
}
