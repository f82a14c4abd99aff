// A CI system's OIDC issuer as the control plane sees it: discovery document and JWKS over http on loopback,
// tokens signed with its own key (jose), and the claim shapes GitHub Actions and GitLab document.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';

export interface TestIssuer {
  /** http://127.0.0.1:PORT (no trailing slash, like GitHub's and GitLab's issuers) */
  issuer: string;
  /** the current signing key's id */
  readonly kid: string;
  /** requests served (discovery and JWKS): shows which issuers the control plane talked to */
  hits: string[];
  /** Signs `claims` with iss, iat, nbf and exp (10 min) filled in unless given. `key`/`kid` forge a signature. */
  sign(claims: JWTPayload, opts?: { key?: CryptoKey; kid?: string }): Promise<string>;
  /** A new signing key, published in the JWKS alongside the old one (as issuers rotate). */
  rotate(): Promise<void>;
  /** What discovery answers from now on (e.g. another issuer's name); undefined: the real document. */
  discovery?: Record<string, unknown> | undefined;
  close(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const keys: { kid: string; privateKey: CryptoKey; jwk: Record<string, unknown> }[] = [];
  const addKey = async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const kid = `test-${Math.random().toString(36).slice(2, 10)}`;
    keys.push({ kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } });
  };
  await addKey();
  const current = () => keys[keys.length - 1]!;
  const hits: string[] = [];
  let issuer = '';
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const body =
      req.url === '/.well-known/openid-configuration'
        ? (handle.discovery ?? { issuer, jwks_uri: `${issuer}/.well-known/jwks`, response_types_supported: ['id_token'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['ES256'] })
        : req.url === '/.well-known/jwks'
          ? { keys: keys.map((k) => k.jwk) }
          : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? { error: 'not found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const handle: TestIssuer = {
    issuer,
    get kid() {
      return current().kid;
    },
    hits,
    async sign(claims, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, iat: now, nbf: now - 5, exp: now + 600, ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: opts.kid ?? current().kid, typ: 'JWT' })
        .sign(opts.key ?? current().privateKey);
    },
    rotate: addKey,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return handle;
}

/** The claims GitHub Actions puts in a job's token (docs: "About security hardening with OpenID Connect"). */
export function githubClaims(over: { repository?: string; ref?: string; environment?: string; aud?: string | string[] } = {}): JWTPayload {
  const repository = over.repository ?? 'acme/orders';
  const ref = over.ref ?? 'refs/heads/main';
  const environment = over.environment ?? 'prod';
  const [owner] = repository.split('/');
  return {
    jti: crypto.randomUUID(),
    sub: `repo:${repository}:environment:${environment}`,
    aud: over.aud ?? 'agentdb',
    ref,
    sha: 'e3f1b3c2a9d8f7e6d5c4b3a29180f7e6d5c4b3a2',
    repository,
    repository_owner: owner,
    repository_owner_id: '4242',
    repository_id: '74747474',
    repository_visibility: 'private',
    run_id: '9988776655',
    run_number: '42',
    run_attempt: '1',
    actor: 'octocat',
    actor_id: '583231',
    workflow: 'deploy',
    workflow_ref: `${repository}/.github/workflows/deploy.yml@${ref}`,
    job_workflow_ref: `${repository}/.github/workflows/deploy.yml@${ref}`,
    event_name: 'push',
    ref_type: 'branch',
    ref_protected: 'true',
    head_ref: '',
    base_ref: '',
    environment,
    runner_environment: 'github-hosted',
  };
}

/** The claims of a GitLab CI id_token (docs: "OpenID Connect (OIDC) Authentication Using ID Tokens"). */
export function gitlabClaims(over: { project_path?: string; ref?: string; pipeline_source?: string; ref_protected?: string; aud?: string } = {}): JWTPayload {
  const project = over.project_path ?? 'acme/orders';
  const ref = over.ref ?? 'main';
  return {
    jti: crypto.randomUUID(),
    sub: `project_path:${project}:ref_type:branch:ref:${ref}`,
    aud: over.aud ?? 'https://agentdb.example.com',
    namespace_id: '72',
    namespace_path: project.split('/')[0],
    project_id: '20',
    project_path: project,
    user_id: '5',
    user_login: 'dev-ops',
    user_email: 'dev-ops@example.com',
    user_access_level: 'maintainer',
    pipeline_id: '1212',
    pipeline_source: over.pipeline_source ?? 'push',
    job_id: '3434',
    ref,
    ref_type: 'branch',
    ref_path: `refs/heads/${ref}`,
    ref_protected: over.ref_protected ?? 'true',
    environment: 'production',
    environment_protected: 'true',
    deployment_tier: 'production',
    runner_id: '1',
    runner_environment: 'gitlab-hosted',
    sha: '714a629c0b401fdce83e847fc9589983fc6f46bc',
    project_visibility: 'private',
    ci_config_ref_uri: `gitlab.example.com/${project}//.gitlab-ci.yml@refs/heads/${ref}`,
    ci_config_sha: '714a629c0b401fdce83e847fc9589983fc6f46bc',
  };
}
