// Durations as people write them in config and flags: "90s", "30m", "1h", "1h30m", "7d".
import { ServerError, ServerErrorCode } from './errors.js';

/** A duration or time that cannot be read: a bad request. */
export class DurationError extends ServerError {
  constructor(message: string) {
    super(ServerErrorCode.DURATION, message);
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

export function parseDuration(text: string): number {
  const s = text.trim();
  if (!s) throw new DurationError('empty duration');
  PART.lastIndex = 0;
  let total = 0;
  let m: RegExpExecArray | null;
  while (PART.lastIndex < s.length && (m = PART.exec(s))) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  if (PART.lastIndex !== s.length || total <= 0) {
    throw new DurationError(`"${text}" is not a duration; write it like 90s, 30m, 1h or 1h30m`);
  }
  return Math.round(total);
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

/** "--since 1h" or an ISO timestamp. */
export function parseTimeOrAgo(text: string, now = Date.now()): Date {
  if (/^\d{4}-\d\d-\d\d/.test(text)) {
    const d = new Date(text);
    if (Number.isNaN(d.getTime())) throw new DurationError(`"${text}" is not a valid timestamp`);
    return d;
  }
  const d = new Date(now - parseDuration(text));
  // A duration longer than the calendar reaches back (about 270,000 years) is no time at all.
  if (Number.isNaN(d.getTime())) throw new DurationError(`"${text}" reaches back further than any timestamp`);
  return d;
}
