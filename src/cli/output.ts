// Output: plain text or JSON for scripts and pipes, a table for people.
export type Format = 'text' | 'table' | 'json';

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

/** A plain aligned table; cells are single-line (newlines shown as ⏎) and long ones cut with … */
export function formatTable(headers: string[], rows: string[][], maxCell = 80): string {
  const clean = (s: string) => {
    const one = s.replace(/\s*\n\s*/g, ' ⏎ ');
    return one.length > maxCell ? one.slice(0, maxCell - 1) + '…' : one;
  };
  const cells = rows.map((r) => r.map(clean));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

export function isTty(): boolean {
  return !!process.stdout.isTTY && process.env.CI !== 'true';
}
