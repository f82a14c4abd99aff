import { z } from 'zod';

/** A duration as config writes it (30m, 1h30m); the server's parseDuration reads the same grammar. */
export const durationText = z.string().regex(/^(\d+(\.\d+)?(ms|s|m|h|d))+$/, 'a duration like 30m or 1h');
