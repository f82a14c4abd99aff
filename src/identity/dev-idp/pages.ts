// The development IdP's HTML pages. Plain forms with no script and no outside fonts or styles, so
// they work offline and a test can drive them with nothing but HTTP requests.

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · agentdb dev IdP</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;padding:40px 16px}
main{max-width:360px;margin:0 auto;background:#fff;border-radius:8px;padding:24px 28px;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.4em;margin-top:0}
label{display:block;margin:12px 0 4px}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:8px;font-size:1em}
button{margin:16px 8px 0 0;padding:8px 16px;font-size:1em}
.error{color:#b00020}
.code{font-family:monospace;font-size:1.6em;letter-spacing:.1em}
footer{max-width:360px;margin:12px auto;color:#777;font-size:.8em;text-align:center}
</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
<footer>agentdb development identity provider — for demos and tests only</footer>
</body>
</html>`;
}

function note(message: string | undefined, isError: boolean): string {
  if (!message) return '';
  return `<p${isError ? ' class="error" role="alert"' : ''}>${escapeHtml(message)}</p>`;
}

/** Puts buttons inside the form oidc-provider generated (it carries the hidden anti-forgery field). */
function withButtons(form: string, buttons: string): string {
  const at = form.lastIndexOf('</form>');
  return at < 0 ? `${form}${buttons}` : `${form.slice(0, at)}${buttons}${form.slice(at)}`;
}

export function codeEntryPage(providerForm: string, error?: string): string {
  return page(
    'Sign in to agentdb',
    `${note(error ?? 'Enter the code shown in your terminal.', error !== undefined)}
${withButtons(providerForm, '<button type="submit">Continue</button>')}`,
  );
}

export function confirmPage(providerForm: string, clientName: string, userCode: string): string {
  return page(
    'Confirm the sign-in',
    `<p>${escapeHtml(clientName)} asks to sign you in. Check that your terminal shows this code:</p>
<p class="code">${escapeHtml(userCode)}</p>
<p>If you did not start this, or the code differs, deny.</p>
${withButtons(providerForm, '<button type="submit">Approve</button><button type="submit" name="abort" value="yes">Deny</button>')}`,
  );
}

export function loginPage(action: string, opts: { username?: string; error?: string } = {}): string {
  return page(
    'Sign in',
    `${note(opts.error, true)}
<form method="post" action="${escapeHtml(action)}">
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" value="${escapeHtml(opts.username ?? '')}" autofocus required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button><button type="submit" name="cancel" value="yes" formnovalidate>Cancel</button>
</form>`,
  );
}

export function successPage(): string {
  return page('Signed in', '<p>You are signed in. You can close this window and go back to your terminal.</p>');
}

export function cancelledPage(): string {
  return page('Sign-in cancelled', '<p>The sign-in was cancelled; nothing was shared. You can close this window.</p>');
}

export function messagePage(title: string, message: string): string {
  return page(title, note(message, true));
}
