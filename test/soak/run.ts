// `npm run soak -- --sessions 1000 --minutes 10 [--report-every 10] [--results soak-results.json]`: vitest
// rejects flags it does not know, so this maps them to the environment test/e2e/soak.test.ts reads and runs it
// with the soak's own config. Plain node (type stripping): it imports nothing of the project.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '1000' },
    minutes: { type: 'string', default: '10' },
    'report-every': { type: 'string', default: '10' },
    results: { type: 'string', default: 'soak-results.json' },
  },
});
for (const [name, v] of Object.entries({ sessions: values.sessions, minutes: values.minutes, 'report-every': values['report-every'] })) {
  if (!(Number(v) > 0)) {
    console.error(`--${name} must be a positive number, got ${v}`);
    process.exit(2);
  }
}

const env = {
  ...process.env,
  SOAK_SESSIONS: values.sessions,
  SOAK_MINUTES: values.minutes,
  SOAK_REPORT_SECONDS: values['report-every'],
  SOAK_RESULTS: path.resolve(values.results),
};
const run = spawnSync('npx', ['vitest', 'run', '--config', 'test/soak/vitest.config.ts'], { stdio: 'inherit', env });
process.exit(run.status ?? 1);
