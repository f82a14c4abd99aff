// Builders of frontend messages: what the gateway says to PostgreSQL when it is the client.
import { serialize } from 'pg-protocol';
import { CANCEL_REQUEST_CODE, FrontendType, LATEST_PROTOCOL_MINOR } from './constants.js';
import { checkCancelKey, checkPid } from './cancel-key.js';
import { PgwireError, PgwireErrorCode } from './errors.js';
import { MessageWriter, assertNoNul, cstringSize } from './message-writer.js';

/**
 * StartupMessage for protocol 3.<minor>. Unlike pg-protocol's, it adds no parameters of its own:
 * the gateway decides every one (client_encoding included).
 */
export function startupMessage(params: Record<string, string>, minor = 0): Buffer {
  // Minors above the newest we know are allowed on purpose: tests and probes use them to make a
  // server answer with NegotiateProtocolVersion.
  if (!Number.isInteger(minor) || minor < 0 || minor > 0xffff) {
    throw new PgwireError(PgwireErrorCode.BAD_ARGUMENT, `protocol minor version must be 0 to 65535 (usually 0 or ${LATEST_PROTOCOL_MINOR}), got ${minor}`);
  }
  const entries = Object.entries(params);
  let size = 5;
  for (const [k, v] of entries) size += cstringSize(k) + cstringSize(v);
  const w = new MessageWriter(undefined, size).int16(3).int16(minor);
  for (const [k, v] of entries) {
    if (k === '') throw new PgwireError(PgwireErrorCode.BAD_ARGUMENT, 'a startup parameter name must not be empty (an empty name ends the list)');
    w.cstring(k, `startup parameter name ${JSON.stringify(k)}`).cstring(v, `startup parameter ${JSON.stringify(k)}`);
  }
  return w.byte(0).finish();
}

export function sslRequest(): Buffer {
  return serialize.requestSsl();
}

/** CancelRequest; the secret is as long as the server's BackendKeyData gave it (4 bytes in 3.0). */
export function cancelRequest(pid: number, secret: Buffer): Buffer {
  checkPid(pid);
  checkCancelKey(secret);
  return new MessageWriter(undefined, 8 + secret.length).int32(CANCEL_REQUEST_CODE).int32(pid).bytes(secret).finish();
}

/** 'p' PasswordMessage: the cleartext password, or the md5 hash (see md5PasswordHash). */
export function passwordMessage(password: string): Buffer {
  assertNoNul(password, 'password');
  return serialize.password(password);
}

/** 'p' SASLInitialResponse */
export function saslInitialResponse(mechanism: string, data: Buffer): Buffer {
  return new MessageWriter(FrontendType.Password, cstringSize(mechanism) + 4 + data.length)
    .cstring(mechanism, 'SASL mechanism')
    .int32(data.length)
    .bytes(data)
    .finish();
}

/** 'p' SASLResponse */
export function saslResponse(data: Buffer): Buffer {
  return new MessageWriter(FrontendType.Password, data.length).bytes(data).finish();
}

/** 'Q' Query */
export function queryMessage(sql: string): Buffer {
  assertNoNul(sql, 'query text');
  return serialize.query(sql);
}

/** 'X' Terminate */
export function terminateMessage(): Buffer {
  // pg-protocol hands out one shared buffer; a copy keeps callers from altering everyone's Terminate.
  return Buffer.from(serialize.end());
}

/** 'P' Parse: a named (or unnamed, '') prepared statement with optional parameter type OIDs. */
export function parseMessage(name: string, sql: string, paramTypes: number[] = []): Buffer {
  const w = new MessageWriter(FrontendType.Parse, cstringSize(name) + cstringSize(sql) + 2 + 4 * paramTypes.length)
    .cstring(name, 'statement name')
    .cstring(sql, 'query text')
    .int16(paramTypes.length);
  for (const t of paramTypes) w.int32(t);
  return w.finish();
}

/** 'D' Describe of a portal ('P') or a prepared statement ('S'). */
export function describeMessage(target: 'S' | 'P', name: string): Buffer {
  return new MessageWriter(FrontendType.Describe, 1 + cstringSize(name)).byte(target.charCodeAt(0)).cstring(name, 'portal or statement name').finish();
}
