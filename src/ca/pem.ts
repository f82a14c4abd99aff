import { CaError, CaErrorCode } from './errors.js';

export function pemEncode(der: Uint8Array, label: string): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The DER inside the first PEM block with one of `labels`; `what` names it in the error. */
export function pemDecode(text: string, labels: readonly string[], what: string, code: CaErrorCode): Uint8Array {
  if (typeof text === 'string') {
    for (const label of labels) {
      const begin = text.indexOf(`-----BEGIN ${label}-----`);
      if (begin === -1) continue;
      const bodyStart = begin + label.length + 16;
      const end = text.indexOf(`-----END ${label}-----`, bodyStart);
      const body = end === -1 ? '' : text.slice(bodyStart, end).replace(/\s+/g, '');
      // Buffer's base64 decoder skips characters it does not know; refuse them instead.
      if (body.length > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(body)) return new Uint8Array(Buffer.from(body, 'base64'));
      throw new CaError(code, `the ${what} PEM block is damaged`);
    }
  }
  throw new CaError(code, `the ${what} is not a PEM "${labels[0]}"`);
}
