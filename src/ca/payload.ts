import { z } from 'zod';
import { CaError, CaErrorCode } from './errors.js';
import { extensionValueOf } from './certificate-der.js';
import { objectIdentifier, octetString, readUtf8String, sequence, utf8String } from './der.js';

/**
 * The task certificate's own extension. 2.25 is the ITU-T/ISO arc (X.667) in which any UUID, written
 * as a decimal integer, is an OID that needs no registration and collides with nobody's. This one
 * (UUID 74e223ee-401f-4360-8a40-8fb17483cf7d) was drawn once at random; never change it, or every
 * certificate already issued stops being readable.
 */
export const TASK_CERT_EXTENSION_OID = '2.25.155364635361562754012644738193397370749';
const OID_DER = objectIdentifier(TASK_CERT_EXTENSION_OID);

export type IdentityKind = 'human' | 'agent' | 'bot';

export interface TaskCertPayload {
  kind: IdentityKind;
  task: { id: string; reason: string };
  /** Who asked: the identity itself, or the human who launched the agent. */
  requester: string;
  roles: string[];
  db: { service: string; names: string[]; users: string[] };
  traits: Record<string, string[]>;
  accessRequest?: string;
  /** Revoking a login session revokes every certificate issued under it. */
  loginSession: string;
}

// A certificate is read far from where it was written (gateway vs control plane, maybe of
// different versions). Unknown fields are refused rather than ignored: a newer field may restrict
// access (say, read-only), and a gateway that skipped it would grant more than was meant.
const name = z.string().min(1);
const payloadSchema = z.strictObject({
  kind: z.enum(['human', 'agent', 'bot']),
  task: z.strictObject({ id: name, reason: z.string() }),
  requester: name,
  roles: z.array(name),
  db: z.strictObject({ service: name, names: z.array(name), users: z.array(name) }),
  traits: z.record(z.string(), z.array(z.string())),
  accessRequest: name.optional(),
  loginSession: name,
});
// The interface above is the public contract; this line keeps the schema from drifting from it.
payloadSchema satisfies z.ZodType<TaskCertPayload>;

/** Large payloads would bloat every handshake; a payload this big means something upstream is wrong. */
const MAX_PAYLOAD_BYTES = 16 * 1024;

function checkPayload(value: unknown): TaskCertPayload {
  const result = payloadSchema.safeParse(value);
  if (!result.success) {
    throw new CaError(CaErrorCode.BAD_PAYLOAD, `the task certificate payload is malformed: ${z.prettifyError(result.error).replace(/\n/g, '; ')}`);
  }
  return result.data;
}

/**
 * The checked payload (a copy: later changes to the caller's object cannot alter what is signed) and
 * its extension in DER: non-critical, its value one UTF8String of JSON so that ASN.1 tools show it as text.
 */
export function encodePayload(value: TaskCertPayload): { payload: TaskCertPayload; extension: Uint8Array } {
  const payload = checkPayload(value);
  const extension = sequence(OID_DER, octetString(utf8String(JSON.stringify(payload))));
  if (extension.length > MAX_PAYLOAD_BYTES) {
    throw new CaError(
      CaErrorCode.BAD_PAYLOAD,
      `the task certificate payload is ${extension.length} bytes, more than the ${MAX_PAYLOAD_BYTES} allowed; trim roles or traits`,
    );
  }
  return { payload, extension };
}

/** The payload of a task certificate (DER); CaError AGENTDB_ERR_CA_BAD_PAYLOAD when absent or malformed. */
export function payloadOf(certificate: Uint8Array): TaskCertPayload {
  let value: Uint8Array | undefined;
  try {
    value = extensionValueOf(certificate, OID_DER);
  } catch (cause) {
    throw new CaError(CaErrorCode.BAD_PAYLOAD, 'the extensions of the certificate cannot be read', { cause });
  }
  if (!value) {
    throw new CaError(CaErrorCode.BAD_PAYLOAD, 'the certificate is not an agentdb task certificate (its payload extension is missing)');
  }
  let json: string;
  try {
    json = readUtf8String(value);
  } catch (cause) {
    throw new CaError(CaErrorCode.BAD_PAYLOAD, 'the task certificate payload is not a DER UTF8String of valid UTF-8', { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (cause) {
    throw new CaError(CaErrorCode.BAD_PAYLOAD, 'the task certificate payload is not valid JSON', { cause });
  }
  return checkPayload(parsed);
}
