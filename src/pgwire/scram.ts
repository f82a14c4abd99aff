// SCRAM-SHA-256 client (RFC 5802, RFC 7677) as PostgreSQL speaks it: no channel binding (gs2 header
// "n,,") and an empty username, because the server takes the user from the startup packet.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { SqlState } from './constants.js';
import { PgwireError, PgwireErrorCode } from './errors.js';
import { saslprepPassword } from './saslprep.js';

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';

const GS2_HEADER = 'n,,';
/** PBKDF2 rounds above this are refused: an unverified server must not stall the event loop for long. */
export const MAX_SCRAM_ITERATIONS = 1_000_000;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// printable ASCII except ','
const NONCE = /^[\x21-\x2B\x2D-\x7E]+$/;

export interface ScramOptions {
  /** The username put in client-first-message. PostgreSQL ignores it, so it is empty by default. */
  username?: string;
}

type Keys = { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer };

// PBKDF2 with 4096 rounds costs milliseconds of blocked event loop per backend connection. The salt
// and count of a role stay the same across logins, so the derived keys are cached (bounded, per process).
const KEY_CACHE_SIZE = 64;
const keyCache = new Map<string, Keys>();

function deriveKeys(password: string, salt: Buffer, iterations: number): Keys {
  const cacheKey = `${iterations}:${salt.toString('base64')}:${createHash('sha256').update(password).digest('base64')}`;
  const hit = keyCache.get(cacheKey);
  if (hit !== undefined) return hit;
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = hmac(salted, 'Client Key');
  const keys = { clientKey, storedKey: createHash('sha256').update(clientKey).digest(), serverKey: hmac(salted, 'Server Key') };
  if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(cacheKey, keys);
  return keys;
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function scramError(message: string): PgwireError {
  return new PgwireError(PgwireErrorCode.SCRAM_PROTOCOL, message, SqlState.CONNECTION_FAILURE);
}

/**
 * One SCRAM-SHA-256 exchange: clientFirstMessage() -> SASLInitialResponse, clientFinalMessage(continue
 * data) -> SASLResponse, verifyServerFinal(final data). Each step once, in that order.
 */
export class ScramSha256Client {
  private readonly password: string;
  private readonly clientNonce: string;
  private readonly clientFirstBare: string;
  private step: 'first' | 'final' | 'verify' | 'done' = 'first';
  private expectedServerSignature: Buffer | undefined;

  /** nonce: raw random bytes (18 fresh ones by default), sent base64-encoded as libpq does. */
  constructor(password: string, nonce?: Buffer, options: ScramOptions = {}) {
    this.password = saslprepPassword(password);
    const n = nonce ?? randomBytes(18);
    if (n.length === 0) throw new PgwireError(PgwireErrorCode.BAD_ARGUMENT, 'the SCRAM client nonce must not be empty');
    this.clientNonce = n.toString('base64');
    const user = (options.username ?? '').replaceAll('=', '=3D').replaceAll(',', '=2C');
    this.clientFirstBare = `n=${user},r=${this.clientNonce}`;
  }

  /** The data of SASLInitialResponse (mechanism SCRAM-SHA-256). */
  clientFirstMessage(): Buffer {
    this.advance('first', 'clientFirstMessage');
    return Buffer.from(GS2_HEADER + this.clientFirstBare, 'utf8');
  }

  /** Takes AuthenticationSASLContinue data; returns the data of SASLResponse. */
  clientFinalMessage(serverFirst: Buffer): Buffer {
    this.advance('final', 'clientFinalMessage');
    const text = serverFirst.toString('utf8');
    const attrs = text.split(',');
    if (attrs[0]?.startsWith('m=')) throw scramError('the server requires a SCRAM extension we do not support');
    const [r, s, i] = attrs;
    if (r === undefined || s === undefined || i === undefined || !r.startsWith('r=') || !s.startsWith('s=') || !i.startsWith('i=')) {
      throw scramError(`malformed SCRAM server-first-message ${JSON.stringify(text.slice(0, 200))}: expected r=...,s=...,i=...`);
    }
    const nonce = r.slice(2);
    if (!nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length || !NONCE.test(nonce)) {
      throw scramError('the SCRAM server nonce does not extend our client nonce: the server is not answering our exchange');
    }
    const saltText = s.slice(2);
    if (saltText === '' || !BASE64.test(saltText)) throw scramError('the SCRAM salt is not valid base64');
    const iterText = i.slice(2);
    const iterations = /^[1-9]\d{0,9}$/.test(iterText) ? Number(iterText) : NaN;
    if (!(iterations >= 1 && iterations <= MAX_SCRAM_ITERATIONS)) {
      throw scramError(`the SCRAM iteration count ${JSON.stringify(iterText)} is not a number from 1 to ${MAX_SCRAM_ITERATIONS}`);
    }

    const keys = deriveKeys(this.password, Buffer.from(saltText, 'base64'), iterations);
    const finalWithoutProof = `c=${Buffer.from(GS2_HEADER).toString('base64')},r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${text},${finalWithoutProof}`;
    const proof = hmac(keys.storedKey, authMessage);
    for (let k = 0; k < proof.length; k++) proof[k]! ^= keys.clientKey[k]!;
    this.expectedServerSignature = hmac(keys.serverKey, authMessage);
    return Buffer.from(`${finalWithoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  /** Takes AuthenticationSASLFinal data; throws unless the server proved it knows the password. */
  verifyServerFinal(serverFinal: Buffer): void {
    this.advance('verify', 'verifyServerFinal');
    const text = serverFinal.toString('utf8');
    if (text.startsWith('e=')) {
      throw new PgwireError(PgwireErrorCode.SCRAM_SERVER_ERROR, `the server rejected the SCRAM exchange: ${text.slice(2, 200)}`, SqlState.INVALID_PASSWORD);
    }
    const v = text.split(',')[0]!;
    const signatureText = v.slice(2);
    if (!v.startsWith('v=') || !BASE64.test(signatureText)) {
      throw scramError(`malformed SCRAM server-final-message ${JSON.stringify(text.slice(0, 200))}`);
    }
    const signature = Buffer.from(signatureText, 'base64');
    const expected = this.expectedServerSignature!;
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      throw new PgwireError(
        PgwireErrorCode.SCRAM_SERVER_SIGNATURE,
        'the server failed to prove it knows the password (bad SCRAM server signature): it may not be the intended PostgreSQL server',
        SqlState.CONNECTION_FAILURE,
      );
    }
  }

  private advance(expected: 'first' | 'final' | 'verify', method: string): void {
    if (this.step !== expected) {
      throw scramError(`SCRAM step out of order: ${method}() called when the exchange expects ${this.nextMethod()}`);
    }
    this.step = expected === 'first' ? 'final' : expected === 'final' ? 'verify' : 'done';
  }

  private nextMethod(): string {
    switch (this.step) {
      case 'first':
        return 'clientFirstMessage()';
      case 'final':
        return 'clientFinalMessage()';
      case 'verify':
        return 'verifyServerFinal()';
      case 'done':
        return 'nothing more (it is complete)';
    }
  }
}

/**
 * What a SCRAM server keeps of a password (RFC 5802 section 3): salt, rounds and the two derived keys.
 * The password itself is not needed to check a client, and is never in here.
 */
export interface ScramSecret {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** Derives a server's SCRAM secret from a password: one PBKDF2 run, so do it once and keep the result. */
export function scramSecret(password: string, salt: Buffer = randomBytes(16), iterations = 4096): ScramSecret {
  if (salt.length === 0) throw new PgwireError(PgwireErrorCode.BAD_ARGUMENT, 'the SCRAM salt must not be empty');
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_SCRAM_ITERATIONS) {
    throw new PgwireError(PgwireErrorCode.BAD_ARGUMENT, `the SCRAM iteration count must be 1 to ${MAX_SCRAM_ITERATIONS}, got ${iterations}`);
  }
  const { storedKey, serverKey } = deriveKeys(saslprepPassword(password), salt, iterations);
  return { salt: Buffer.from(salt), iterations, storedKey, serverKey };
}

function clientError(message: string): PgwireError {
  return new PgwireError(PgwireErrorCode.SCRAM_PROTOCOL, message, SqlState.PROTOCOL_VIOLATION);
}

/**
 * The server side of one SCRAM-SHA-256 exchange, as PostgreSQL runs it (auth-scram.c): no channel
 * binding offered (gs2 flag "n" or "y"), no authorization identity, the username ignored (the startup
 * packet names the user). serverFirstMessage(SASLInitialResponse data) -> AuthenticationSASLContinue data,
 * serverFinalMessage(SASLResponse data) -> AuthenticationSASLFinal data, or a throw when the client
 * does not know the password (sqlState 28P01).
 */
export class ScramSha256Server {
  private step: 'first' | 'final' | 'done' = 'first';
  private gs2Header = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';

  /** serverNonce: raw random bytes (18 fresh ones by default) appended, base64-encoded, to the client's nonce. */
  constructor(
    private readonly secret: ScramSecret,
    private readonly serverNonce: Buffer = randomBytes(18),
  ) {
    if (serverNonce.length === 0) throw new PgwireError(PgwireErrorCode.BAD_ARGUMENT, 'the SCRAM server nonce must not be empty');
  }

  /** Takes the client-first-message (SASLInitialResponse data); returns the server-first-message. */
  serverFirstMessage(clientFirst: Buffer): Buffer {
    this.advance('first', 'serverFirstMessage');
    const text = clientFirst.toString('utf8');
    const flag = text[0];
    if (flag === 'p') throw clientError('the client asked for SCRAM channel binding, which was not offered');
    if ((flag !== 'n' && flag !== 'y') || text[1] !== ',') throw clientError('malformed SCRAM client-first-message: it must start with "n," or "y,"');
    const authzEnd = text.indexOf(',', 2);
    if (authzEnd !== 2) throw clientError('the client uses a SCRAM authorization identity, which is not supported');
    this.gs2Header = text.slice(0, 3);
    this.clientFirstBare = text.slice(3);
    const attrs = this.clientFirstBare.split(',');
    if (attrs[0]?.startsWith('m=')) throw clientError('the client requires a SCRAM extension we do not support');
    const [n, r] = attrs;
    if (n === undefined || r === undefined || !n.startsWith('n=') || !r.startsWith('r=')) {
      throw clientError('malformed SCRAM client-first-message: expected n=...,r=...');
    }
    const clientNonce = r.slice(2);
    if (!NONCE.test(clientNonce)) throw clientError('the SCRAM client nonce is empty or holds characters it may not');
    this.nonce = clientNonce + this.serverNonce.toString('base64');
    this.serverFirst = `r=${this.nonce},s=${this.secret.salt.toString('base64')},i=${this.secret.iterations}`;
    return Buffer.from(this.serverFirst, 'utf8');
  }

  /** Takes the client-final-message (SASLResponse data); returns the server-final-message once the proof holds. */
  serverFinalMessage(clientFinal: Buffer): Buffer {
    this.advance('final', 'serverFinalMessage');
    const text = clientFinal.toString('utf8');
    const proofAt = text.lastIndexOf(',p=');
    if (proofAt < 0) throw clientError('malformed SCRAM client-final-message: no proof');
    const withoutProof = text.slice(0, proofAt);
    const [c, r] = withoutProof.split(',');
    if (c !== `c=${Buffer.from(this.gs2Header).toString('base64')}`) throw clientError('the SCRAM channel binding data does not match the client-first-message');
    if (r !== `r=${this.nonce}`) throw clientError('the SCRAM client-final-message does not carry the nonce of this exchange');
    const proofText = text.slice(proofAt + 3);
    const proof = BASE64.test(proofText) ? Buffer.from(proofText, 'base64') : Buffer.alloc(0);
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientKey = hmac(this.secret.storedKey, authMessage);
    const ok = proof.length === clientKey.length;
    if (ok) for (let k = 0; k < clientKey.length; k++) clientKey[k]! ^= proof[k]!;
    const storedKey = createHash('sha256').update(clientKey).digest();
    // Compared in constant time even for a proof of the wrong length, so the answer's timing says nothing.
    if (!(timingSafeEqual(storedKey, this.secret.storedKey) && ok)) {
      throw new PgwireError(PgwireErrorCode.SCRAM_BAD_PROOF, 'the SCRAM client proof is wrong: the client does not know the password', SqlState.INVALID_PASSWORD);
    }
    return Buffer.from(`v=${hmac(this.secret.serverKey, authMessage).toString('base64')}`, 'utf8');
  }

  private advance(expected: 'first' | 'final', method: string): void {
    if (this.step !== expected) throw clientError(`SCRAM step out of order: ${method}() called when the exchange is at step "${this.step}"`);
    this.step = expected === 'first' ? 'final' : 'done';
  }
}
