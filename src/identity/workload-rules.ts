// Which CI job a verified workload token speaks for, by the server's auth.workload entries: the first entry
// whose rules (audience, then each claim rule) all hold names the bot and its roles. Default deny: a token no
// entry accepts is refused with the first failing rule of the entry it came closest to, so whoever set up
// the pipeline sees which claim to fix. Pure: the signature, issuer and lifetime were checked before.
import { IdentityError, IdentityErrorCode } from './errors.js';
import { globMatch } from './glob.js';
import type { Identity } from './mapping.js';

export interface WorkloadEntry {
  /** compared with `iss` as an exact string */
  issuer: string;
  /** `aud` must be this (or, for an array `aud`, contain it) */
  audience: string;
  /** claim -> glob(s) the claim's value must match; every claim listed must be present */
  match: Record<string, string | string[]>;
  /** the bot's name, with `{{claim}}` replaced by the claim's value, e.g. 'gh:{{repository}}' */
  identity: string;
  roles: string[];
  /** the bot's traits (e.g. region for row-level security); values are templates like `identity` */
  traits?: Record<string, string | string[]>;
}

/** Longer names are refused: the name becomes a certificate subject and part of a database role name. */
const MAX_NAME_LENGTH = 200;
const PLACEHOLDER = /\{\{\s*([^{}\s]+)\s*\}\}/g;

/** The claims an identity template reads; throws when it has a stray brace (a typo would yield a constant name). */
export function templateClaims(template: string): string[] {
  const claims = [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
  if (/[{}]/.test(template.replace(PLACEHOLDER, ''))) {
    throw new IdentityError(IdentityErrorCode.WORKLOAD_TEMPLATE, `identity template "${template}" has a brace outside {{claim}}`);
  }
  return claims;
}

/** The identity of a verified workload token; throws AGENTDB_ERR_IDENTITY_WORKLOAD_* naming the rule that failed. */
export function identifyWorkload(claims: Record<string, unknown>, entries: readonly WorkloadEntry[]): Identity {
  const iss = claims.iss;
  const mine = entries.map((entry, index) => ({ entry, index })).filter(({ entry }) => entry.issuer === iss);
  if (mine.length === 0) {
    throw new IdentityError(IdentityErrorCode.TOKEN_ISSUER, `issuer ${JSON.stringify(iss)} is not listed under auth.workload`);
  }
  let closest: { index: number; entry: WorkloadEntry; passed: number; failure: Failure } | undefined;
  for (const { entry, index } of mine) {
    const results = rulesOf(entry).map((rule) => rule(claims));
    const failure = results.find((r): r is Failure => r !== undefined);
    if (!failure) return identityOf(claims, entry, index);
    const passed = results.filter((r) => r === undefined).length;
    if (!closest || passed > closest.passed) closest = { index, entry, passed, failure };
  }
  const { failure, index } = closest!;
  throw new IdentityError(failure.code, `no auth.workload entry accepts this token: ${failure.message} (auth.workload.${index})`);
}

interface Failure {
  code: typeof IdentityErrorCode.TOKEN_AUDIENCE | typeof IdentityErrorCode.WORKLOAD_CLAIM;
  message: string;
}
type Rule = (claims: Record<string, unknown>) => Failure | undefined;

function rulesOf(entry: WorkloadEntry): Rule[] {
  const audience: Rule = (claims) => {
    const aud = claims.aud;
    if (aud === entry.audience || (Array.isArray(aud) && aud.includes(entry.audience))) return undefined;
    return { code: IdentityErrorCode.TOKEN_AUDIENCE, message: `the token's audience is ${describe(aud)}, the rule for ${entry.issuer} wants "${entry.audience}"` };
  };
  const claimRules = Object.entries(entry.match).map(([claim, wanted]): Rule => {
    const patterns = typeof wanted === 'string' ? [wanted] : wanted;
    return (claims) => {
      const value = scalarClaim(claims, claim);
      if (value !== undefined && patterns.some((p) => globMatch(p, value))) return undefined;
      const wants = patterns.length === 1 ? JSON.stringify(patterns[0]) : `one of ${patterns.map((p) => JSON.stringify(p)).join(', ')}`;
      return { code: IdentityErrorCode.WORKLOAD_CLAIM, message: `claim ${claim} is ${describe(claims[claim])}, the rule for ${entry.issuer} wants ${wants}` };
    };
  });
  return [audience, ...claimRules];
}

function identityOf(claims: Record<string, unknown>, entry: WorkloadEntry, index: number): Identity {
  const subject = scalarClaim(claims, 'sub');
  if (!subject) throw new IdentityError(IdentityErrorCode.CLAIMS_INVALID, 'the token has no "sub" claim (a non-empty string is required)');
  const render = (template: string, what: string) => renderTemplate(claims, template, `${what} of auth.workload.${index}`);
  const traits: Record<string, string[]> = {};
  for (const [trait, values] of Object.entries(entry.traits ?? {})) {
    traits[trait] = (typeof values === 'string' ? [values] : values).map((v) => render(v, `trait ${trait}`));
  }
  return { name: render(entry.identity, 'the identity template'), kind: 'bot', roles: [...entry.roles], traits, issuer: entry.issuer, subject };
}

function renderTemplate(claims: Record<string, unknown>, template: string, what: string): string {
  const text = template.replace(PLACEHOLDER, (_, claim: string) => {
    const value = scalarClaim(claims, claim);
    if (!value) throw new IdentityError(IdentityErrorCode.NO_NAME, `${what} ("${template}") reads claim ${claim}, which the token does not carry`);
    return value;
  });
  // Claim values are the CI system's data: keep control characters out of names that reach logs and certificates.
  // eslint-disable-next-line no-control-regex
  if (text.length > MAX_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(text)) {
    throw new IdentityError(IdentityErrorCode.NO_NAME, `${what} made a value longer than ${MAX_NAME_LENGTH} characters or with control characters`);
  }
  return text;
}

/** A claim as one string (GitLab sends ref_protected as "true"; a boolean is taken the same way); anything else is undefined. */
function scalarClaim(claims: Record<string, unknown>, claim: string): string | undefined {
  const value = claims[claim];
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  return undefined;
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return 'absent';
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
