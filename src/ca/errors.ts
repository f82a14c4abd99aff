import { CodedError } from '../pgwire/index.js';

/** Stable codes of every CaError. */
export const CaErrorCode = {
  /** A certificate signing request that is not PEM or DER, not signed, or signed by another key. */
  BAD_CSR: 'AGENTDB_ERR_CA_BAD_CSR',
  /** The CSR's public key is unreadable or not ECDSA P-256. */
  BAD_KEY: 'AGENTDB_ERR_CA_BAD_KEY',
  /** A certificate that cannot be parsed, is not given as DER or PEM, or has not exactly one common name. */
  BAD_CERT: 'AGENTDB_ERR_CA_BAD_CERT',
  /** A certificate that is not a client certificate (no clientAuth extended key usage). */
  NOT_CLIENT_CERT: 'AGENTDB_ERR_CA_NOT_CLIENT_CERT',
  /** Malformed DER inside a certificate or CSR. */
  BAD_DER: 'AGENTDB_ERR_CA_BAD_DER',
  /** The task certificate's payload extension is missing or not the JSON it must be. */
  BAD_PAYLOAD: 'AGENTDB_ERR_CA_BAD_PAYLOAD',
  /** The identity name for a certificate is empty, too long or holds control characters. */
  BAD_IDENTITY: 'AGENTDB_ERR_CA_BAD_IDENTITY',
  /** A server certificate's host is missing or neither an IP address nor a DNS name. */
  BAD_HOST: 'AGENTDB_ERR_CA_BAD_HOST',
  /** A certificate lifetime that is not valid, ends before it starts or outlives the CA. */
  BAD_VALIDITY: 'AGENTDB_ERR_CA_BAD_VALIDITY',
  /** A CA name other than "user" and "host". */
  BAD_NAME: 'AGENTDB_ERR_CA_BAD_NAME',
  /** The user CA was asked for a server certificate, or the host CA for a task certificate. */
  WRONG_CA: 'AGENTDB_ERR_CA_WRONG_CA',
  /** The CA's files cannot be read or written, or the data directory cannot be created. */
  FILES: 'AGENTDB_ERR_CA_FILES',
  /** Only one of the CA's key and certificate exists. */
  INCOMPLETE: 'AGENTDB_ERR_CA_INCOMPLETE',
  /** The CA's key and certificate are unusable (unreadable, or not a pair). */
  CORRUPT: 'AGENTDB_ERR_CA_CORRUPT',
  /** The CA certificate has expired. */
  EXPIRED: 'AGENTDB_ERR_CA_EXPIRED',
} as const;
export type CaErrorCode = (typeof CaErrorCode)[keyof typeof CaErrorCode];

/** The one error type of the certificate authority; `code` is stable, the message is for people. */
export class CaError extends CodedError<CaErrorCode> {
  /** Whether the requester's input is at fault (HTTP 400), rather than the CA or its caller (HTTP 500). */
  get isRequestFault(): boolean {
    return REQUEST_FAULTS.has(this.code);
  }
}

/** Codes that blame what a requester sent (its CSR), not the CA: an API answers them as a bad request. */
const REQUEST_FAULTS: ReadonlySet<CaErrorCode> = new Set([CaErrorCode.BAD_CSR, CaErrorCode.BAD_KEY]);
