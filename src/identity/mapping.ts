// Turns verified token claims into an agentdb identity. Everything here is default deny: an identity
// that no role binding matches is refused, and a claim of an unexpected shape is an error rather than
// something silently ignored.
import { IdentityError, IdentityErrorCode } from './errors.js';
import { globMatch } from './glob.js';

export type IdentityKind = 'human' | 'agent' | 'bot';

export interface Identity {
  name: string;
  kind: IdentityKind;
  roles: string[];
  traits: Record<string, string[]>;
  issuer: string;
  subject: string;
}

export interface RoleBinding {
  /** `values` are globs: '*' matches any run of characters. */
  match: { claim: string; values: string[] };
  kind?: IdentityKind;
  roles: string[];
}

export interface IdentityMapping {
  /** First present wins, e.g. ['preferred_username', 'email', 'client_id', 'sub']. */
  nameClaims: string[];
  /** e.g. 'groups' (an array, or a space-separated string). */
  groupsClaim: string;
  /** trait name -> claim name, e.g. { region: 'region' }. */
  traitClaims: Record<string, string>;
  /** A binding matches when the claim (a string, or any element of an array claim; 'groups' means groupsClaim) matches one of its values. */
  bindings: RoleBinding[];
}

const GROUPS = 'groups';

/**
 * Roles are the union over matching bindings; kind comes from the first matching binding that sets
 * one, else `defaultKind`. No matching binding (or only bindings that grant no role) throws
 * AGENTDB_ERR_IDENTITY_NO_ROLES.
 */
export function resolveIdentity(claims: Record<string, unknown>, mapping: IdentityMapping, defaultKind: IdentityKind): Identity {
  const issuer = requiredString(claims, 'iss');
  const subject = requiredString(claims, 'sub');
  const name = nameOf(claims, mapping.nameClaims);
  const groups = groupsOf(claims, mapping.groupsClaim);
  const valuesOf = (claim: string): string[] => (claim === GROUPS ? groups : claimValues(claims, claim));

  const roles = new Set<string>();
  let kind: IdentityKind | undefined;
  let matched = false;
  for (const binding of mapping.bindings) {
    const values = valuesOf(binding.match.claim);
    if (!values.some((v) => binding.match.values.some((pattern) => globMatch(pattern, v)))) continue;
    matched = true;
    for (const role of binding.roles) roles.add(role);
    kind ??= binding.kind;
  }

  if (roles.size === 0) {
    const why = mapping.bindings.length === 0
      ? 'no role bindings are configured'
      : matched ? 'the matching role bindings grant no role' : 'no role binding matches it';
    throw new IdentityError(
      IdentityErrorCode.NO_ROLES,
      `identity "${name}" (issuer ${issuer}) is not allowed: ${why}; claims tried: ${describeTried(mapping, valuesOf)}`,
    );
  }

  return { name, kind: kind ?? defaultKind, roles: [...roles], traits: traitsOf(claims, mapping.traitClaims), issuer, subject };
}

function requiredString(claims: Record<string, unknown>, claim: string): string {
  const value = claims[claim];
  if (typeof value !== 'string' || value === '') {
    throw new IdentityError(IdentityErrorCode.CLAIMS_INVALID, `the token has no "${claim}" claim (a non-empty string is required)`);
  }
  return value;
}

function nameOf(claims: Record<string, unknown>, nameClaims: string[]): string {
  for (const claim of nameClaims) {
    const value = claims[claim];
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  throw new IdentityError(
    IdentityErrorCode.NO_NAME,
    `the token carries none of the claims used for the identity name (${nameClaims.join(', ') || 'none configured'})`,
  );
}

function groupsOf(claims: Record<string, unknown>, groupsClaim: string): string[] {
  const value = claims[groupsClaim];
  // Some IdPs send groups as one space-separated string (like OAuth's scope).
  if (typeof value === 'string') return value.split(/\s+/).filter((g) => g !== '');
  return claimValues(claims, groupsClaim);
}

function traitsOf(claims: Record<string, unknown>, traitClaims: Record<string, string>): Record<string, string[]> {
  const traits: Record<string, string[]> = {};
  for (const [trait, claim] of Object.entries(traitClaims)) {
    const values = claimValues(claims, claim);
    if (values.length > 0) traits[trait] = values;
  }
  return traits;
}

/** A claim as a list of strings: absent -> [], scalar -> [it], array of scalars -> them. Anything else is malformed. */
function claimValues(claims: Record<string, unknown>, claim: string): string[] {
  const value = claims[claim];
  if (value === undefined || value === null) return [];
  if (isScalar(value)) return [String(value)];
  if (Array.isArray(value) && value.every(isScalar)) return value.map(String);
  throw new IdentityError(
    IdentityErrorCode.CLAIMS_INVALID,
    `the "${claim}" claim must be a string or an array of strings, got ${Array.isArray(value) ? 'an array with non-string elements' : typeof value}`,
  );
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function describeTried(mapping: IdentityMapping, valuesOf: (claim: string) => string[]): string {
  const claimsUsed = [...new Set(mapping.bindings.map((b) => b.match.claim))];
  if (claimsUsed.length === 0) return 'none';
  return claimsUsed
    .map((claim) => {
      const label = claim === GROUPS && mapping.groupsClaim !== GROUPS ? `${claim} (${mapping.groupsClaim})` : claim;
      const values = valuesOf(claim);
      const shown = values.slice(0, 10).map((v) => JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v));
      return `${label}=[${shown.join(', ')}${values.length > 10 ? ', …' : ''}]`;
    })
    .join(', ');
}
