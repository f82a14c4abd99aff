// The page shell every console page shares: title, navigation, who is signed in, and the sign-out form.
import { html, type Html } from './html.js';
import { CSRF_FIELD, type Viewer } from './security.js';

export function page(title: string, viewer: Viewer | undefined, body: Html, opts: { refresh?: string } = {}): Html {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${opts.refresh ? html`<meta http-equiv="refresh" content="0;url=${opts.refresh}">` : ''}
<title>${title} · agentdb</title>
<link rel="stylesheet" href="/ui/static/app.css">
<script src="/ui/static/app.js" defer></script>
</head>
<body>
<header>
<a class="brand" href="/ui/requests">agentdb</a>
${viewer ? nav(viewer) : ''}
</header>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>`;
}

function nav(viewer: Viewer): Html {
  const who = viewer.session.identity;
  return html`<nav>
<a href="/ui/requests">Requests</a>
<a href="/ui/audit">Audit</a>
</nav>
<form class="whoami" method="post" action="/ui/logout">
${csrfInput(viewer)}
<span title="${who.roles.join(', ')}">${who.name}</span>
<button type="submit">Sign out</button>
</form>`;
}

export function csrfInput(viewer: Viewer): Html {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${viewer.csrf}">`;
}

/** Shown for any error: what happened and its code, as the CLI prints it. */
export function errorBody(code: string, message: string, signIn = false): Html {
  return html`<p class="error" role="alert">${message}</p>
<p class="code">${code}</p>
${signIn ? html`<p><a href="/ui/login">Sign in</a></p>` : html`<p><a href="/ui/requests">Back to the requests</a></p>`}`;
}

/** '2026-12-03 14:02:11 UTC' */
export function when(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
