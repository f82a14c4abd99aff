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
