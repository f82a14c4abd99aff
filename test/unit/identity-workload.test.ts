// CI workload tokens: which auth.workload entry a verified token's claims select, what the refusal names when
// none does, the config checks around the entries, and the audience the CLI asks GitHub for.
import { describe, expect, test } from 'vitest';
import { ciAudience } from '../../src/client/ci-token.js';
import { IdentityError, identifyWorkload, templateClaims, type WorkloadEntry } from '../../src/identity/index.js';
import { parseConfig } from '../../src/server/index.js';
import { githubClaims, gitlabClaims } from '../helpers/workload-issuer.js';
import { thrown } from '../helpers/expect-coded.js';

const GH = 'https://token.actions.githubusercontent.com';
const GL = 'https://gitlab.example.com';

const entries: WorkloadEntry[] = [
  { issuer: GH, audience: 'agentdb', match: { repository: 'acme/orders', ref: 'refs/heads/main', environment: 'prod' }, identity: 'gh:{{repository}}', roles: ['ci-migrations'] },
  { issuer: GH, audience: 'agentdb', match: { repository: 'acme/*', ref: 'refs/heads/release-*' }, identity: 'gh:{{repository}}:release', roles: ['ci-reader'] },
  {
    issuer: GL,
    audience: 'https://agentdb.example.com',
    match: { project_path: 'acme/orders', ref_protected: 'true', pipeline_source: ['push', 'schedule'] },
    identity: 'gitlab:{{project_path}}',
    roles: ['ci-reader'],
  },
];

const refusal = (claims: Record<string, unknown>): IdentityError => thrown(IdentityError, () => identifyWorkload(claims, entries));

describe('identifyWorkload', () => {
  test('a GitHub job on main in prod is the bot of the first entry, with its roles only', () => {
    const id = identifyWorkload({ iss: GH, ...githubClaims() }, entries);
    expect(id).toEqual({ name: 'gh:acme/orders', kind: 'bot', roles: ['ci-migrations'], traits: {}, issuer: GH, subject: 'repo:acme/orders:environment:prod' });
  });

  test('globs select the second entry for a release branch of another repository of the owner', () => {
    const id = identifyWorkload({ iss: GH, ...githubClaims({ repository: 'acme/billing', ref: 'refs/heads/release-2.1' }) }, entries);
    expect(id.name).toBe('gh:acme/billing:release');
    expect(id.roles).toEqual(['ci-reader']);
  });

  test('a GitLab pipeline: a string "true" and a list of allowed pipeline sources', () => {
    const id = identifyWorkload({ iss: GL, ...gitlabClaims({ pipeline_source: 'schedule' }) }, entries);
    expect(id).toMatchObject({ name: 'gitlab:acme/orders', kind: 'bot', roles: ['ci-reader'], subject: 'project_path:acme/orders:ref_type:branch:ref:main' });
  });

  test('an array aud is accepted when it holds the audience', () => {
    expect(identifyWorkload({ iss: GH, ...githubClaims({ aud: ['other', 'agentdb'] }) }, entries).name).toBe('gh:acme/orders');
  });

  test('an unlisted repository is refused naming the repository rule of the closest entry', () => {
    const err = refusal({ iss: GH, ...githubClaims({ repository: 'other/orders' }) });
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_WORKLOAD_CLAIM');
    expect(err.message).toBe(`no auth.workload entry accepts this token: claim repository is "other/orders", the rule for ${GH} wants "acme/orders" (auth.workload.0)`);
  });

  test('the closest entry is the one with most rules holding, not the first', () => {
    // Entry 1 (release) holds on repository; entry 0 holds on repository and environment but not ref.
    const err = refusal({ iss: GH, ...githubClaims({ repository: 'acme/orders', ref: 'refs/heads/feature' }) });
    expect(err.message).toContain(`claim ref is "refs/heads/feature", the rule for ${GH} wants "refs/heads/main" (auth.workload.0)`);
    const err2 = refusal({ iss: GH, ...githubClaims({ repository: 'acme/orders', ref: 'refs/heads/feature', environment: 'staging' }) });
    // Now entry 0 holds aud+repository, entry 1 aud+repository: a tie goes to the first.
    expect(err2.message).toContain('claim ref is "refs/heads/feature"');
    expect(err2.message).toContain('(auth.workload.0)');
  });

  test('a wrong audience is refused naming the audience rule', () => {
    const err = refusal({ iss: GL, ...gitlabClaims({ aud: 'https://vault.example.com' }) });
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_TOKEN_AUDIENCE');
    expect(err.message).toContain(`the token's audience is "https://vault.example.com", the rule for ${GL} wants "https://agentdb.example.com"`);
  });

  test('a list rule names every allowed value; an absent claim is said to be absent', () => {
    expect(refusal({ iss: GL, ...gitlabClaims({ pipeline_source: 'merge_request_event' }) }).message).toContain(
      `claim pipeline_source is "merge_request_event", the rule for ${GL} wants one of "push", "schedule"`,
    );
    const { environment: _, ...noEnv } = githubClaims();
    expect(refusal({ iss: GH, ...noEnv, ref: 'refs/heads/main' }).message).toContain('claim environment is absent');
  });

  test('a claim rule never matches an array or an object claim', () => {
    expect(refusal({ iss: GH, ...githubClaims(), repository: ['acme/orders'] }).code).toBe('AGENTDB_ERR_IDENTITY_WORKLOAD_CLAIM');
  });

  test('an issuer with no entry is refused', () => {
    expect(refusal({ iss: 'https://ci.example.org', ...githubClaims() }).code).toBe('AGENTDB_ERR_IDENTITY_TOKEN_ISSUER');
  });

  test('the identity template needs its claims and keeps control characters out', () => {
    const tpl: WorkloadEntry[] = [{ ...entries[0]!, match: {}, identity: 'gh:{{repository}}/{{workflow}}' }];
    expect(identifyWorkload({ iss: GH, ...githubClaims() }, tpl).name).toBe('gh:acme/orders/deploy');
    const { workflow: _, ...noWorkflow } = githubClaims();
    expect(() => identifyWorkload({ iss: GH, ...noWorkflow }, tpl)).toThrow(/the identity template of auth.workload.0 \("gh:{{repository}}\/{{workflow}}"\) reads claim workflow/);
    expect(() => identifyWorkload({ iss: GH, ...githubClaims(), workflow: 'a\nb' }, tpl)).toThrow(/control characters/);
  });

  test('traits are templates too, so row-level security can key on the job', () => {
    const tpl: WorkloadEntry[] = [{ ...entries[0]!, traits: { region: 'us-east', repo: ['{{repository}}', '{{repository_owner}}'] } }];
    expect(identifyWorkload({ iss: GH, ...githubClaims() }, tpl).traits).toEqual({ region: ['us-east'], repo: ['acme/orders', 'acme'] });
  });

  test('templateClaims lists placeholders and refuses stray braces', () => {
    expect(templateClaims('gh:{{repository}}@{{ ref }}')).toEqual(['repository', 'ref']);
    expect(() => templateClaims('gh:{repository}')).toThrow(IdentityError);
  });
});

describe('auth.workload in the server config', () => {
  const base = (workload: unknown[]) =>
    JSON.stringify({
      auth: { oidc: { issuer: 'https://login.example.com/', clientId: 'agentdb', audience: 'api://agentdb' }, workload },
      roles: { 'ci-reader': { databases: [] } },
    });
  const entry = { issuer: GH, audience: 'agentdb', match: { repository: 'acme/orders', pipeline_source: ['push'] }, identity: 'gh:{{repository}}', roles: ['ci-reader'] };

  test('a valid entry parses', () => {
    expect(parseConfig(base([entry])).auth.workload[0]).toMatchObject(entry);
  });
  test('the login issuer cannot be a workload issuer, roles must exist, templates must be well formed', () => {
    expect(() => parseConfig(base([{ ...entry, issuer: 'https://login.example.com' }]))).toThrow(/auth\.workload\.0\.issuer: .* is the login issuer/);
    expect(() => parseConfig(base([{ ...entry, roles: ['nope'] }]))).toThrow(/auth\.workload\.0\.roles: role "nope" is not defined/);
    expect(() => parseConfig(base([{ ...entry, identity: 'gh:{repository}' }]))).toThrow(/auth\.workload\.0\.identity: .*brace/);
    expect(() => parseConfig(base([{ ...entry, traits: { region: '{{region}' } }]))).toThrow(/auth\.workload\.0\.traits\.region: .*brace/);
    expect(() => parseConfig(base([{ ...entry, match: { repository: [] } }]))).toThrow(/auth\.workload\.0\.match\.repository/);
  });
});

describe('ciAudience (what `login --ci` asks GitHub for)', () => {
  test('GitHub\'s issuer entry first, else the one audience all share, else "agentdb"; several: choose', () => {
    expect(ciAudience([{ issuer: GL, audience: 'gl' }, { issuer: GH, audience: 'gh' }])).toBe('gh');
    expect(ciAudience([{ issuer: 'https://ghe.example.com/_services/token', audience: 'a' }])).toBe('a');
    expect(ciAudience([])).toBe('agentdb');
    expect(() => ciAudience([{ issuer: GL, audience: 'a' }, { issuer: 'https://x.example', audience: 'b' }])).toThrow(/several audiences \(a, b\); choose one with --audience/);
  });
});
