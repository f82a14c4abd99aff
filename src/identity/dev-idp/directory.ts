// The development IdP's people and bots, and the claims it states about them.
import { createHash, timingSafeEqual } from 'node:crypto';
import { IdentityError, IdentityErrorCode } from '../errors.js';

export interface DevIdpUser {
  name: string;
  password: string;
  email: string;
  groups: string[];
  traits?: Record<string, string>;
}

export interface DevIdpClient {
  id: string;
  secret: string;
  groups: string[];
  traits?: Record<string, string>;
}

/** Claims the IdP sets itself; a trait with one of these names would overwrite them. */
const RESERVED_CLAIMS = new Set([
  'iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'auth_time', 'nonce', 'acr', 'amr', 'azp', 'at_hash', 'sid', 'scope',
  'client_id', 'cnf', 'preferred_username', 'name', 'email', 'email_verified', 'groups',
]);

export class Directory {
  readonly #users = new Map<string, DevIdpUser>();
  readonly #clients = new Map<string, DevIdpClient>();
  /** Compared against when the username is unknown, so a wrong name costs the same time as a wrong password. */
  readonly #decoy = digest('decoy');

  constructor(users: DevIdpUser[], clients: DevIdpClient[], controlPlaneClientId: string) {
    for (const user of users) {
      if (!nonEmpty(user.name) || !nonEmpty(user.password) || !nonEmpty(user.email)) {
        throw invalid(`user ${JSON.stringify(user.name)} needs a name, a password and an email`);
      }
      if (this.#users.has(user.name)) throw invalid(`user "${user.name}" is listed twice`);
      checkGroupsAndTraits(`user "${user.name}"`, user.groups, user.traits);
      this.#users.set(user.name, user);
    }
    for (const client of clients) {
      if (!nonEmpty(client.id) || !nonEmpty(client.secret)) throw invalid(`client ${JSON.stringify(client.id)} needs an id and a secret`);
      if (this.#clients.has(client.id) || client.id === controlPlaneClientId) throw invalid(`client id "${client.id}" is used twice`);
      checkGroupsAndTraits(`client "${client.id}"`, client.groups, client.traits);
      this.#clients.set(client.id, client);
    }
  }

  get clients(): DevIdpClient[] {
    return [...this.#clients.values()];
  }

  /** Every trait name any user or client has; each becomes a claim the IdP can release. */
  traitNames(): string[] {
    const names = new Set<string>();
    for (const holder of [...this.#users.values(), ...this.#clients.values()]) {
      for (const name of Object.keys(holder.traits ?? {})) names.add(name);
    }
    return [...names];
  }

  /** The user when name and password match; compared in constant time. */
  authenticate(name: string, password: string): DevIdpUser | undefined {
    const user = this.#users.get(name);
    const expected = user ? digest(user.password) : this.#decoy;
    const same = timingSafeEqual(digest(password), expected);
    return user && same ? user : undefined;
  }

  user(name: string): DevIdpUser | undefined {
    return this.#users.get(name);
  }

  client(id: string): DevIdpClient | undefined {
    return this.#clients.get(id);
  }
}

export function userClaims(user: DevIdpUser): Record<string, unknown> {
  return {
    sub: user.name,
    preferred_username: user.name,
    name: user.name,
    email: user.email,
    email_verified: true,
    groups: [...user.groups],
    ...user.traits,
  };
}

export function clientClaims(client: DevIdpClient): Record<string, unknown> {
  return { groups: [...client.groups], ...client.traits };
}

/** Hashing first gives timingSafeEqual equal-length inputs whatever the password lengths. */
function digest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

function checkGroupsAndTraits(who: string, groups: unknown, traits: Record<string, string> | undefined): void {
  if (!Array.isArray(groups) || !groups.every(nonEmpty)) throw invalid(`${who} needs groups as a list of names`);
  for (const [name, value] of Object.entries(traits ?? {})) {
    if (RESERVED_CLAIMS.has(name)) throw invalid(`${who} has a trait named "${name}", which is a claim the IdP sets itself`);
    if (typeof value !== 'string') throw invalid(`${who} has a trait "${name}" that is not a string`);
  }
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function invalid(message: string): IdentityError {
  return new IdentityError(IdentityErrorCode.DEV_IDP_CONFIG, `dev IdP: ${message}`);
}
