import { multiLine, oneLine } from './terminal-text.js';
import type { RecordedStatement, SessionRecording } from './types.js';

// The transcript reads like Teleport's `tsh play` of a database session, which users know:
//
//   Session started to database "customers" as order_agent by order-processing-agent (task: check refunds) at Sun Jun 15 14:22 UTC
//   customers=> SELECT ...;
//   SUCCESS (48 rows affected) 1.2 ms
//   Session ended at Sun Jun 15 14:23 UTC

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** 'Sun Jun 15 14:22 UTC'; text that is not a time is shown as it is. */
export function formatSessionTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return oneLine(iso);
  const hh = String(d.getUTCHours()).padStart(2, '0');
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()} ${hh}:${mm} UTC`;
}

interface Style {
  info: (s: string) => string;
  prompt: (s: string) => string;
  comment: (s: string) => string;
  success: (s: string) => string;
  error: (s: string) => string;
  denied: (s: string) => string;
}

const sgr =
  (open: string) =>
  (s: string): string =>
    `\u001b[${open}m${s}\u001b[0m`;
const COLOR: Style = { info: sgr('2'), prompt: sgr('1'), comment: sgr('2'), success: sgr('32'), error: sgr('31'), denied: sgr('1;31') };
const same = (s: string): string => s;
const PLAIN: Style = { info: same, prompt: same, comment: same, success: same, error: same, denied: same };

function formatParam(p: string | null): string {
  return p === null ? 'NULL' : `'${oneLine(p).replaceAll("'", "''")}'`;
}

function formatMs(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}

/** psql's prompts: `db=> ` on the first line of a statement, `db-> ` on the lines after it. */
function statementLines(s: RecordedStatement, dbName: string, style: Style): string[] {
  let sql = s.sql.trimEnd();
  if (!sql.endsWith(';')) sql += ';';
  const lines = multiLine(sql).map((line, i) => style.prompt(`${dbName}${i === 0 ? '=>' : '->'} `) + line);
  if (s.params !== undefined && s.params.length > 0) {
    lines[lines.length - 1] += style.comment(`  -- params: [${s.params.map(formatParam).join(', ')}]`);
  }
  return lines;
}

function outcomeLine(s: RecordedStatement, style: Style): string {
  if (s.decision === 'deny') {
    const rule = s.rule !== undefined ? ` (rule ${oneLine(s.rule)})` : '';
    const why = s.error !== undefined ? `: ${oneLine(s.error.message)}` : '';
    return style.denied(`DENIED by policy${rule}`) + why;
  }
  if (s.error !== undefined) {
    return `${style.error('ERROR:')} ${oneLine(s.error.message)} (SQLSTATE ${oneLine(s.error.code)}) ${formatMs(s.ms)}`;
  }
  const what =
    s.rows !== undefined ? ` (${s.rows} ${s.rows === 1 ? 'row' : 'rows'} affected)` : s.tag !== undefined ? ` (${oneLine(s.tag)})` : '';
  return `${style.success('SUCCESS')}${what} ${formatMs(s.ms)}`;
}

/** The session as text, one line per event; ends with a newline. */
export function renderTranscript(rec: SessionRecording, opts: { color?: boolean } = {}): string {
  const style = opts.color === true ? COLOR : PLAIN;
  const { header } = rec;
  const dbName = oneLine(header.db.name);
  const task = header.task.reason !== '' ? header.task.reason : header.task.id;
  const out: string[] = [
    style.info(
      `Session started to database "${dbName}" as ${oneLine(header.db.user)} by ${oneLine(header.identity.name)} ` +
        `(task: ${oneLine(task)}) at ${formatSessionTime(header.startedAt)}`,
    ),
  ];
  for (const s of rec.statements) {
    out.push(...statementLines(s, dbName, style), outcomeLine(s, style));
  }
  if (rec.end !== undefined) {
    const reason = rec.end.reason !== undefined && rec.end.reason !== '' ? ` (${oneLine(rec.end.reason)})` : '';
    out.push(style.info(`Session ended at ${formatSessionTime(rec.end.endedAt)}${reason}`));
  } else {
    out.push(style.info('Session still open (no end recorded yet)'));
  }
  return out.join('\n') + '\n';
}
