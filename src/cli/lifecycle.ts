/**
 * Shell convention (128 + signal number) for a stop that came from a closed terminal: the command did not end
 * because its user asked, and a supervisor can tell. Ctrl-C and SIGTERM are a requested stop: 0.
 */
const HANGUP_EXIT = 129;

/**
 * Runs until SIGINT, SIGTERM or SIGHUP (the terminal closed), then closes what was started; a second signal
 * exits at once. A stop that fails exits 1 with one line on stderr.
 */
export function waitForShutdown(close: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second Ctrl-C means now; a second hangup (the shell's and the terminal's) must not cut the cleanup short.
        if (signal !== 'SIGHUP') process.exit(130);
        return;
      }
      stopping = true;
      if (signal === 'SIGHUP') {
        // The terminal is gone: a write to it fails (EIO), and an unheard 'error' would end the process before
        // the cleanup below has stopped PostgreSQL.
        for (const s of [process.stdout, process.stderr]) s.on('error', () => undefined);
        process.exitCode = HANGUP_EXIT;
      }
      close().then(resolve, (err: unknown) => {
        process.stderr.write(`agentdb: stopping failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
        resolve();
      });
    };
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, stop);
  });
}
