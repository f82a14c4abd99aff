// `agentdb play SID`: a recorded session as a transcript, at once or at its recorded pace.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient } from '../../../client/index.js';
import { renderTranscript, type SessionRecording } from '../../../recording/index.js';
import { UsageError } from '../../exit-codes.js';
import { isTty, printJson } from '../../output.js';

export interface PlayOptions {
  format: string;
  speed?: string;
}

export async function run(sid: string, opts: PlayOptions): Promise<void> {
  if (!['text', 'json'].includes(opts.format)) throw new UsageError(`--format ${opts.format}: use text or json`);
  const speed = opts.speed === undefined ? undefined : Number(opts.speed);
  if (speed !== undefined && !(speed > 0)) throw new UsageError('--speed takes a positive number');
  const rec = await ApiClient.use((api) => api.get<SessionRecording>(`/v1/sessions/${encodeURIComponent(sid)}/recording`));
  if (opts.format === 'json') return printJson(rec);
  const color = isTty();
  if (speed === undefined) {
    process.stdout.write(renderTranscript(rec, { color }));
    return;
  }
  // Paced replay: the header, then each statement when its time comes.
  const lines = renderTranscript({ ...rec, statements: [] }, { color }).split('\n');
  process.stdout.write(lines[0] + '\n');
  let last = 0;
  for (const s of rec.statements) {
    await sleep(Math.max(0, (s.t - last) / speed));
    last = s.t;
    const one = renderTranscript({ header: rec.header, statements: [s] }, { color }).split('\n');
    process.stdout.write(one.slice(1, -2).join('\n') + '\n');
  }
  process.stdout.write(lines.slice(1).join('\n'));
}
