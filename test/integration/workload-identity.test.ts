// CI workload identity end to end: two CI issuers (GitHub- and GitLab-shaped) served on loopback, listed under
// auth.workload of a real control plane; their job tokens log in as bots with the entry's roles and get task
// certificates that open gateway sessions on the real PostgreSQL. Every refusal names the rule that failed.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateKeyPair } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { apiClient, loginClient, requestCert, gatewayClient, type ApiClient } from '../helpers/api-session.js';
import { agentdb, startProxyCli, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { githubClaims, gitlabClaims, startTestIssuer, type TestIssuer } from '../helpers/workload-issuer.js';

const GITLAB_AUDIENCE = 'https://agentdb.example.com';

let github: TestIssuer;
let gitlab: TestIssuer;
let unlisted: TestIssuer;
let tc: TestCluster;
let api: ApiClient;
let scratch: string;

beforeAll(async () => {
  [github, gitlab, unlisted] = await Promise.all([startTestIssuer(), startTestIssuer(), startTestIssuer()]);
  scratch = await mkdtemp(path.join(tmpdir(), 'agentdb-workload-'));
  tc = await startTestCluster('workload', (config) => {
    // Two roles that differ from every role the dev IdP's identities hold, so the roles seen come from the entry.
    config.roles['ci-migrations'] = { ...config.roles['demo-agent']!, description: 'CI deploys' };
    config.roles['ci-reader'] = { ...config.roles['demo-agent']!, description: 'CI reads' };
    config.auth.workload = [
      { issuer: github.issuer, audience: 'agentdb', match: { repository: 'acme/orders', ref: 'refs/heads/main', environment: 'prod' }, identity: 'gh:{{repository}}', roles: ['ci-migrations'], traits: { region: 'us-east' } },
      {
        issuer: gitlab.issuer,
        audience: GITLAB_AUDIENCE,
        match: { project_path: 'acme/orders', ref_protected: 'true', pipeline_source: ['push', 'schedule'] },
        identity: 'gitlab:{{project_path}}',
        roles: ['ci-reader'],
        traits: { region: 'eu' },
      },
    ];
  });
  api = await apiClient(tc);
});

afterAll(async () => {
  await api?.close();
  await tc?.close();
  await Promise.all([github, gitlab, unlisted].map((i) => i?.close()));
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function tokenLogin(token: string) {
  return api.call('POST', '/v1/login/token', { body: { token } });
}

function serverArgs(): string[] {
  return ['--server', tc.cluster.info.server, '--ca-file', tc.cluster.info.caFile];
}

async function selectThroughProxy(home: string): Promise<string> {
  const { proc, ready } = await startProxyCli(home, ['--db', 'customers', '--task', 'ci workload test']);
  const client = new pg.Client({ connectionString: ready.url });
  try {
    await client.connect();
    return (await client.query<{ n: string }>('select count(*)::text as n from customers')).rows[0]!.n;
  } finally {
    await client.end().catch(() => undefined);
    await proc.stop();
  }
}

describe('accepted tokens', () => {
  test('a GitHub job token (--token-file) logs in as the bot with the entry\'s roles, and its proxy reaches PostgreSQL', async () => {
    const home = await tc.newHome();
    const file = path.join(scratch, 'gh.jwt');
    await writeFile(file, await github.sign(githubClaims()), { mode: 0o600 });
    const r = await agentdb(home, ['login', ...serverArgs(), '--token-file', file, '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, identity: { name: 'gh:acme/orders', kind: 'bot', roles: ['ci-migrations'] } });
    expect(Number(await selectThroughProxy(home))).toBeGreaterThan(0);
  });

  test('a GitLab id_token (--ci --token-env) logs in as its bot and gets a certificate the gateway takes', async () => {
    const home = await tc.newHome();
    const r = await agentdb(home, ['login', ...serverArgs(), '--ci', '--token-env', 'GITLAB_OIDC_TOKEN', '--format', 'json'], {
      GITLAB_OIDC_TOKEN: await gitlab.sign(gitlabClaims({ pipeline_source: 'schedule' })),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ identity: { name: 'gitlab:acme/orders', kind: 'bot', roles: ['ci-reader'] } });

    // The same token through the API: a certificate for the bot, and a gateway session under it.
    const login = await tokenLogin(await gitlab.sign(gitlabClaims()));
    expect(login.status).toBe(200);
    const cert = await requestCert(tc, api, login.body.token as string, { db: 'customers', task: 'gitlab pipeline' });
    const client = gatewayClient(tc, cert);
    await client.connect();
    try {
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });

  test('the login IdP\'s bots are untouched by auth.workload', async () => {
    const token = await loginClient(tc, api);
    const who = await api.call('GET', '/v1/whoami', { token });
    expect(who.body.identity).toMatchObject({ name: 'demo-agent', kind: 'agent', roles: ['demo-agent'] });
  });

  test('the server advertises its workload audiences', async () => {
    const ping = await api.call('GET', '/v1/ping');
    expect((ping.body.auth as { workload: unknown }).workload).toEqual([
      { issuer: github.issuer, audience: 'agentdb' },
      { issuer: gitlab.issuer, audience: GITLAB_AUDIENCE },
    ]);
  });
});

describe('refused tokens name the rule', () => {
  const refused = async (token: string, status: number, code: string, message: string | RegExp) => {
    const r = await tokenLogin(token);
    expect(r.body.error?.code).toBe(code);
    expect(r.body.error?.message).toMatch(message);
    expect(r.status).toBe(status);
  };

  test('wrong audience', async () => {
    await refused(await github.sign(githubClaims({ aud: 'sts.amazonaws.com' })), 403, 'AGENTDB_ERR_IDENTITY_TOKEN_AUDIENCE',
      `no auth.workload entry accepts this token: the token's audience is "sts.amazonaws.com", the rule for ${github.issuer} wants "agentdb" (auth.workload.0)`);
  });

  test('an issuer not listed, which the control plane never contacts', async () => {
    await refused(await unlisted.sign(githubClaims()), 401, 'AGENTDB_ERR_IDENTITY_TOKEN_ISSUER',
      `the token's issuer "${unlisted.issuer}" is neither the login issuer (auth.oidc) nor listed under auth.workload`);
    expect(unlisted.hits).toEqual([]);
  });

  test('a GitHub token that claims the GitLab issuer is checked against GitLab\'s keys', async () => {
    await refused(await github.sign({ ...gitlabClaims(), iss: gitlab.issuer }), 401, 'AGENTDB_ERR_IDENTITY_TOKEN_SIGNATURE', `published keys of ${gitlab.issuer}`);
  });

  test('expired (beyond the 30 s leeway)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(await github.sign({ ...githubClaims(), iat: now - 900, nbf: now - 900, exp: now - 120 }), 401, 'AGENTDB_ERR_IDENTITY_TOKEN_EXPIRED', /^the token expired at /);
  });

  test('not yet valid, or minted in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(await github.sign({ ...githubClaims(), nbf: now + 600 }), 401, 'AGENTDB_ERR_IDENTITY_TOKEN_CLAIMS', /"nbf"/);
    await refused(await github.sign({ ...githubClaims(), iat: now + 600 }), 401, 'AGENTDB_ERR_IDENTITY_TOKEN_CLAIMS', /"iat" claim is in the future/);
  });

  test('bad signature: another key under the issuer\'s kid, or an unknown kid', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    await refused(await github.sign(githubClaims(), { key: privateKey }), 401, 'AGENTDB_ERR_IDENTITY_TOKEN_SIGNATURE', `the token's signature does not verify with the published keys of ${github.issuer}`);
    await refused(await github.sign(githubClaims(), { key: privateKey, kid: 'forged' }), 401, 'AGENTDB_ERR_IDENTITY_TOKEN_SIGNATURE', `published keys of ${github.issuer}`);
  });

  test('unlisted repository, wrong ref, a pipeline source not allowed', async () => {
    await refused(await github.sign(githubClaims({ repository: 'acme/other' })), 403, 'AGENTDB_ERR_IDENTITY_WORKLOAD_CLAIM',
      `no auth.workload entry accepts this token: claim repository is "acme/other", the rule for ${github.issuer} wants "acme/orders" (auth.workload.0)`);
    await refused(await github.sign(githubClaims({ ref: 'refs/heads/feature' })), 403, 'AGENTDB_ERR_IDENTITY_WORKLOAD_CLAIM',
      `claim ref is "refs/heads/feature", the rule for ${github.issuer} wants "refs/heads/main"`);
    await refused(await gitlab.sign(gitlabClaims({ pipeline_source: 'merge_request_event' })), 403, 'AGENTDB_ERR_IDENTITY_WORKLOAD_CLAIM',
      `claim pipeline_source is "merge_request_event", the rule for ${gitlab.issuer} wants one of "push", "schedule"`);
  });

  test('the CLI prints the rule and exits 4 (denied)', async () => {
    const home = await tc.newHome();
    const r = await agentdb(home, ['login', ...serverArgs(), '--ci'], { AGENTDB_ID_TOKEN: await gitlab.sign(gitlabClaims({ ref_protected: 'false' })) });
    expect(r.stderr).toContain(`claim ref_protected is "false", the rule for ${gitlab.issuer} wants "true"`);
    expect(r.code).toBe(4);
  });
});

describe('GitHub Actions\' token request (ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN)', () => {
  const REQUEST_TOKEN = 'actions-request-token-1234';
  let endpoint: Server;
  let url: string;
  const asked: { audience: string | null; authorized: boolean }[] = [];

  beforeAll(async () => {
    // What the Actions runtime does: check the job's request token, mint an OIDC token for the asked audience.
    endpoint = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const authorized = req.headers.authorization === `Bearer ${REQUEST_TOKEN}` && u.searchParams.get('api-version') === '2.0';
      asked.push({ audience: u.searchParams.get('audience'), authorized });
      if (!authorized) return void res.writeHead(401).end('{"message":"unauthorized"}');
      void github.sign(githubClaims({ aud: u.searchParams.get('audience') ?? 'https://github.com/acme' })).then((value) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: 1, value })),
      );
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/_apis/token?api-version=2.0`;
  });
  afterAll(() => new Promise<void>((resolve) => (endpoint ? endpoint.close(() => resolve()) : resolve())));

  test('login --ci --audience asks for that audience with the request token and logs in', async () => {
    const home = await tc.newHome();
    asked.length = 0;
    const r = await agentdb(home, ['login', ...serverArgs(), '--ci', '--audience', 'agentdb', '--format', 'json'], {
      ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(asked).toEqual([{ audience: 'agentdb', authorized: true }]);
    expect(JSON.parse(r.stdout)).toMatchObject({ identity: { name: 'gh:acme/orders', kind: 'bot', roles: ['ci-migrations'] } });
  });

  test('without --audience, the server\'s advertised audiences decide; two different ones must be chosen from', async () => {
    const home = await tc.newHome();
    asked.length = 0;
    const r = await agentdb(home, ['login', ...serverArgs(), '--ci'], { ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN });
    expect(r.stderr).toContain(`several audiences (agentdb, ${GITLAB_AUDIENCE}); choose one with --audience`);
    expect(r.code).toBe(1);
    expect(asked).toEqual([]);
  });

  test('a wrong request token: GitHub\'s refusal, not a login', async () => {
    const home = await tc.newHome();
    asked.length = 0;
    const r = await agentdb(home, ['login', ...serverArgs(), '--ci', '--audience', 'agentdb'], { ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'stale' });
    expect(r.stderr).toContain('GitHub Actions refused an OIDC token for audience "agentdb" (HTTP 401)');
    expect(r.code).toBe(3);
    expect(asked).toEqual([{ audience: 'agentdb', authorized: false }]);
  });
});
