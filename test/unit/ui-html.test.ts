// The web console's HTML helper: every value is text unless it is markup a template made.
import { describe, expect, test } from 'vitest';
import { escapeHtml, html, raw, uiHref, Html } from '../../src/server/ui/html.js';

describe('escapeHtml', () => {
  test('escapes the characters that end text, an attribute or a tag', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y' \`z\``)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; &#96;z&#96;');
  });

  test('leaves other text alone, including non-ASCII', () => {
    expect(escapeHtml('DELETE FROM orders — 東京 ✓')).toBe('DELETE FROM orders — 東京 ✓');
  });
});

describe('html template', () => {
  test('escapes interpolated strings in content and in quoted attributes', () => {
    const sql = `DELETE FROM orders WHERE note = '</pre><img src=x onerror=alert(1)>'`;
    const out = html`<pre title="${'" onmouseover="x'}">${sql}</pre>`.value;
    expect(out).toBe(`<pre title="&quot; onmouseover=&quot;x">DELETE FROM orders WHERE note = &#39;&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;&#39;</pre>`);
    expect(out).not.toContain('<img');
  });

  test('inserts markup from another template or raw() as it is, and nothing else', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p>${inner}${raw('<br>')}</p>`.value).toBe('<p><b>&lt;i&gt;</b><br></p>');
    // An object that only looks like markup is text.
    expect(html`${{ value: '<b>' }}`.value).toBe('[object Object]');
    expect(html`${{ toString: () => '<b>' }}`.value).toBe('&lt;b&gt;');
  });

  test('joins arrays, escaping each item, and renders nothing for null, undefined and false', () => {
    expect(html`<ul>${['<a>', html`<li>ok</li>`]}</ul>`.value).toBe('<ul>&lt;a&gt;<li>ok</li></ul>');
    expect(html`[${null}${undefined}${false}]`.value).toBe('[]');
    expect(html`${0}${true}`.value).toBe('0true');
  });

  test('the result is Html and prints as its markup', () => {
    const h = html`<p>${'a&b'}</p>`;
    expect(h).toBeInstanceOf(Html);
    expect(`${h}`).toBe('<p>a&amp;b</p>');
  });
});

describe('uiHref', () => {
  test('percent-encodes each path segment and the query, so a value cannot leave /ui or add a scheme', () => {
    expect(uiHref(['sessions', '../../v1/x?y#z'])).toBe('/ui/sessions/..%2F..%2Fv1%2Fx%3Fy%23z');
    expect(uiHref(['identities', 'javascript:alert(1)'])).toBe('/ui/identities/javascript%3Aalert(1)');
    expect(uiHref(['audit'], { sid: 'a&b=c', user: '', db: undefined, limit: 5 })).toBe('/ui/audit?sid=a%26b%3Dc&limit=5');
  });
});
