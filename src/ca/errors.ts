/** Codes that blame what a requester sent (its CSR), not the CA: an API answers them as a bad request. */
const REQUEST_FAULTS: ReadonlySet<string> = new Set(['AGENTDB_ERR_CA_BAD_CSR', 'AGENTDB_ERR_CA_BAD_KEY']);

/** The one error type of the certificate authority; `code` is stable, the message is for people. */
export class CaError extends Error {
  readonly code: string;

  /** Whether the requester's input is at fault (HTTP 400), rather than the CA or its caller (HTTP 500). */
  get isRequestFault(): boolean {
    return REQUEST_FAULTS.has(this.code);
  }

  constructor(code: `AGENTDB_ERR_CA_${string}`, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CaError';
    this.code = code;
  }
}
