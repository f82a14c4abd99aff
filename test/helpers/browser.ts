// What a person's browser does during a device login, done with plain HTTP: pages are fetched with
// a cookie jar, redirects are followed by hand, and on each page the form is read from the HTML,
// filled in (user code, username, password; hidden inputs kept) and submitted with the method and
// action it names. Nothing here knows the IdP's URLs, so it works with any IdP whose pages are
// plain HTML forms.

export interface CompleteDeviceLoginOptions {
  /** false: press the deny/cancel button at the first page that has one. Default true. */
  approve?: boolean;
}

/**
 * Walks the verification pages until the IdP shows a page with no form (its success page, or after
 * a denial the page that follows it). Throws with the page's text when a step fails: an HTTP error,
 * or a form that comes back unchanged after it was submitted (e.g. a wrong password).
 */
export async function completeDeviceLogin(
  verificationUri: string,
  userCode: string,
  username: string,
  password: string,
  opts: CompleteDeviceLoginOptions = {},
): Promise<void> {
  const approve = opts.approve ?? true;
  const browser = new Browser();
  let page = await browser.open(verificationUri, 'GET');
  let previous: string | undefined;
  let denied = false;
  for (let step = 0; step < MAX_STEPS; step++) {
    if (page.status >= 400) throw stepFailed(`HTTP ${page.status}`, page);
    if (denied) return;
    const form = pickForm(readForms(page.html));
    if (!form) {
      if (!approve) throw stepFailed('the login ended without offering a way to deny it', page);
      return;
    }
    const signature = formSignature(form);
    if (signature === previous) throw stepFailed('the same form came back after it was submitted', page);
    previous = signature;
    const button = chooseButton(form, approve);
    denied = button !== undefined && isDenyButton(button);
    page = await browser.submit(page.url, form, button, { userCode, username, password });
  }
  throw stepFailed(`no end after ${MAX_STEPS} pages`, page);
}

const MAX_STEPS = 20;
const MAX_REDIRECTS = 10;
const DENY = /\b(deny|abort|cancel|reject|decline)\b/i;

// ---------------------------------------------------------------------------------------------
// HTTP with cookies and manual redirects

interface Page {
  url: string;
  status: number;
  html: string;
}

interface Cookie {
  name: string;
  value: string;
  host: string;
  path: string;
}

class Browser {
  readonly #cookies = new Map<string, Cookie>();

  async open(url: string, method: 'GET' | 'POST', body?: URLSearchParams): Promise<Page> {
    let current = new URL(url);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers: Record<string, string> = { accept: 'text/html' };
      const cookie = this.#cookieHeader(current);
      if (cookie) headers['cookie'] = cookie;
      if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await fetch(current, { method, headers, body: body?.toString(), redirect: 'manual' });
      this.#store(current, res.headers.getSetCookie());
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        current = new URL(location, current);
        // 303 always, and 301/302 after a POST, turn into a GET (what browsers do).
        if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
      return { url: current.href, status: res.status, html: await res.text() };
    }
    throw new Error(`device login: more than ${MAX_REDIRECTS} redirects from ${url}`);
  }

  submit(pageUrl: string, form: Form, button: Control | undefined, answers: Answers): Promise<Page> {
    const data = new URLSearchParams();
    for (const field of form.fields) {
      const value = fill(field, answers);
      if (value !== undefined) data.append(field.name, value);
    }
    if (button?.name) data.append(button.name, button.value);
    const action = new URL(button?.attrs['formaction'] ?? form.action ?? pageUrl, pageUrl);
    const method = (button?.attrs['formmethod'] ?? form.method).toUpperCase() === 'POST' ? 'POST' : 'GET';
    if (method === 'GET') {
      action.search = data.toString();
      return this.open(action.href, 'GET');
    }
    return this.open(action.href, 'POST', data);
  }

  #store(url: URL, setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attrParts] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const attrs = new Map(attrParts.map((a) => {
        const i = a.indexOf('=');
        return i < 0 ? [a.trim().toLowerCase(), ''] : [a.slice(0, i).trim().toLowerCase(), a.slice(i + 1).trim()];
      }));
      const path = attrs.get('path')?.startsWith('/') ? attrs.get('path')! : defaultPath(url);
      const key = `${url.host} ${path} ${name}`;
      const maxAge = attrs.get('max-age');
      const expires = attrs.get('expires');
      const gone = (maxAge !== undefined && Number(maxAge) <= 0) || (expires !== undefined && Date.parse(expires) <= Date.now());
      if (gone) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, host: url.host, path });
    }
  }

  #cookieHeader(url: URL): string {
    return [...this.#cookies.values()]
      .filter((c) => c.host === url.host && pathMatches(c.path, url.pathname))
      // Longer paths first, as browsers send them.
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

function defaultPath(url: URL): string {
  const dir = url.pathname.slice(0, url.pathname.lastIndexOf('/'));
  return dir === '' ? '/' : dir;
}

function pathMatches(cookiePath: string, requestPath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

// ---------------------------------------------------------------------------------------------
// A small regex-based form reader

interface Control {
  tag: 'input' | 'button' | 'textarea';
  type: string;
  name: string;
  value: string;
  text: string;
  attrs: Record<string, string>;
}

interface Form {
  id: string | undefined;
  method: string;
  action: string | undefined;
  fields: Control[];
  buttons: Control[];
}

interface Answers {
  userCode: string;
  username: string;
  password: string;
}

const FORM = /<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi;
// <input> is a void element (a stray </input> after it is ignored); buttons and textareas have content.
const CONTROL = /<(input)\b([^>]*)>|<(button|textarea)\b([^>]*)>([\s\S]*?)<\/\3\s*>/gi;
const ATTR = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

function readForms(rawHtml: string): Form[] {
  const html = rawHtml.replace(/<!--[\s\S]*?-->/g, '').replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, '');
  const spans: { start: number; end: number; form: Form }[] = [];
  for (const m of html.matchAll(FORM)) {
    const attrs = readAttrs(m[1] ?? '');
    const form: Form = { id: attrs['id'], method: attrs['method'] ?? 'get', action: attrs['action'], fields: [], buttons: [] };
    spans.push({ start: m.index, end: m.index + m[0].length, form });
  }
  for (const m of html.matchAll(CONTROL)) {
    const tag = (m[1] ?? m[3] ?? '').toLowerCase() as Control['tag'];
    const attrs = readAttrs(m[2] ?? m[4] ?? '');
    if ('disabled' in attrs) continue;
    // The form attribute ties a control outside a form to it (buttons are often placed that way).
    const owner = attrs['form'] !== undefined
      ? spans.find((s) => s.form.id === attrs['form'])?.form
      : spans.find((s) => m.index > s.start && m.index < s.end)?.form;
    if (!owner) continue;
    const type = (attrs['type'] ?? (tag === 'button' ? 'submit' : tag === 'textarea' ? 'textarea' : 'text')).toLowerCase();
    const text = tag === 'input' ? '' : textOf(m[5] ?? '');
    const control: Control = { tag, type, name: attrs['name'] ?? '', value: attrs['value'] ?? (tag === 'textarea' ? text : ''), text, attrs };
    if (type === 'submit' || type === 'image') owner.buttons.push(control);
    else if (type !== 'button' && type !== 'reset' && control.name) owner.fields.push(control);
  }
  return spans.map((s) => s.form);
}

function readAttrs(source: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of source.matchAll(ATTR)) {
    const name = (m[1] ?? '').toLowerCase();
    if (name && !(name in attrs)) attrs[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/** The form a person would use: the first one with something to fill in or press. */
function pickForm(forms: Form[]): Form | undefined {
  return forms.find((f) => f.buttons.length > 0 || f.fields.some((c) => c.type !== 'hidden')) ?? forms[0];
}

function chooseButton(form: Form, approve: boolean): Control | undefined {
  const deny = form.buttons.find(isDenyButton);
  const go = form.buttons.find((b) => !isDenyButton(b));
  return approve ? go : (deny ?? go);
}

function isDenyButton(button: Control): boolean {
  return DENY.test(`${button.name} ${button.value} ${button.text}`);
}

function fill(field: Control, answers: Answers): string | undefined {
  switch (field.type) {
    case 'hidden':
      return field.value;
    case 'checkbox':
    case 'radio':
      return 'checked' in field.attrs ? field.value || 'on' : undefined;
    case 'password':
      return answers.password;
    default: {
      const name = field.name.toLowerCase();
      if (name.includes('code')) return answers.userCode;
      if (/user|login|email|name/.test(name)) return answers.username;
      return field.value;
    }
  }
}

function formSignature(form: Form): string {
  return `${form.method.toLowerCase()} ${form.action ?? ''} ${form.fields.map((f) => `${f.type}:${f.name}`).join(',')}`;
}

// ---------------------------------------------------------------------------------------------

function stepFailed(why: string, page: Page): Error {
  return new Error(`device login failed at ${page.url}: ${why}; the page says: ${textOf(page.html).slice(0, 600)}`);
}

function textOf(html: string): string {
  return decodeEntities(
    html
      .replace(/<(script|style|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
      .replace(/<[^>]*>/g, ' '),
  )
    .replace(/\s+/g, ' ')
    .trim();
}

function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, ent: string) => {
    if (ent[0] === '#') {
      const code = ent[1] === 'x' || ent[1] === 'X' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return named[ent.toLowerCase()] ?? whole;
  });
}
