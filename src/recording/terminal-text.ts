// Recorded text (SQL, error messages, names) comes from clients and databases and is printed to a
// terminal by `agentdb play`: control characters and bidi overrides could rewrite the screen or
// hide what was run, so they are shown as escapes instead.

// C0 controls except tab and newline, DEL, C1 controls, and the bidirectional overrides/isolates.
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_OR_NEWLINE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function escape(ch: string): string {
  const code = ch.charCodeAt(0);
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Safe to print on one line. */
export function oneLine(s: string): string {
  return s.replace(UNSAFE_OR_NEWLINE, escape);
}

/** Safe to print, keeping line breaks (CRLF counts as one). */
export function multiLine(s: string): string[] {
  return s.split(/\r?\n/).map((line) => line.replace(UNSAFE, escape));
}
