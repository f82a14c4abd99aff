// HTML for the web console, built with one tagged template that escapes every value it is given. Markup reaches a
// page only as an Html value (another template's result); anything else, whoever wrote it (an agent's SQL, a task's
// text, a claim), is text.

/** Markup that is safe to insert as it is: only `html` templates and `raw` make one. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Text for an element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ENTITIES[c]!);
}

/** A template whose values are escaped, except Html; arrays are joined; null, undefined and false render nothing. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new Html(out);
}

function render(v: unknown): string {
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === undefined || v === null || v === false) return '';
  return escapeHtml(String(v));
}

/** A fixed piece of markup written in this module's callers, never text from a request or the store. */
export function raw(markup: string): Html {
  return new Html(markup);
}

/**
 * A link inside the console: a fixed path, each segment percent-encoded, and a query of the non-empty fields. Links
 * are built only here, so no value from a request or the store can become a `javascript:` or outside URL.
 */
export function uiHref(segments: readonly string[], query: Record<string, string | number | undefined> = {}): string {
  const path = `/ui/${segments.map(encodeURIComponent).join('/')}`;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}
