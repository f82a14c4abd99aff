// The client is on every CLI command's start-up path, so it takes the error base from its own file rather than
// through pgwire's face, which would load the whole protocol for `agentdb --version`.
import { CodedError } from '../pgwire/coded-error.js';
import { ExitCode } from './exit-codes.js';

/** Stable codes of the failures the client itself finds. */
export const ClientErrorCode = {
  /** No login in the profile: run `agentdb login` (exit 3). */
  NOT_LOGGED_IN: 'AGENTDB_ERR_NOT_LOGGED_IN',
  /** The profile's login has expired (exit 3). */
  LOGIN_EXPIRED: 'AGENTDB_ERR_LOGIN_EXPIRED',
  /** The device login was not completed in time (exit 3). */
  LOGIN_TIMEOUT: 'AGENTDB_ERR_LOGIN_TIMEOUT',
  /** The profile file is damaged. */
  PROFILE: 'AGENTDB_ERR_PROFILE',
  /** A --token-file that cannot be read. */
  TOKEN_FILE: 'AGENTDB_ERR_TOKEN_FILE',
  /** No CI OIDC token could be found or fetched (exit 3 when there is none, or the CI refused one). */
  CI_TOKEN: 'AGENTDB_ERR_CI_TOKEN',
  /** The server accepts CI tokens for several audiences: choose one with --audience. */
  CI_AUDIENCE: 'AGENTDB_ERR_CI_AUDIENCE',
  /** The control plane cannot be reached. */
  UNREACHABLE: 'AGENTDB_ERR_UNREACHABLE',
  /** The control plane answered with something that is not JSON. */
  BAD_RESPONSE: 'AGENTDB_ERR_BAD_RESPONSE',
  /** The control plane answered an error without a code of its own. */
  API: 'AGENTDB_ERR_API',
  /** The gateway does not speak TLS. */
  PROXY_GATEWAY: 'AGENTDB_ERR_PROXY_GATEWAY',
  /** `agentdb proxy` needs a new certificate and the control plane cannot be reached; it keeps retrying (SQLSTATE 08001). */
  PROXY_CONTROL_PLANE_DOWN: 'AGENTDB_ERR_PROXY_CONTROL_PLANE_DOWN',
  /** A local client of `agentdb proxy` did not prove the proxy's secret (exit 4). */
  PROXY_LOCAL_AUTH: 'AGENTDB_ERR_PROXY_LOCAL_AUTH',
  /** The --socket directory is not a private directory of the user's. */
  PROXY_SOCKET_DIR: 'AGENTDB_ERR_PROXY_SOCKET_DIR',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/**
 * A failure on the client side, with the exit code the CLI contract gives it. `code` is from ClientErrorCode, from
 * the catalogue of the CLI command that raises it, or the one the control plane answered with.
 */
export class ClientError<C extends string = ClientErrorCode> extends CodedError<C> {
  constructor(
    code: C,
    message: string,
    readonly exitCode: ExitCode = ExitCode.FAILURE,
  ) {
    super(code, message);
  }
}
