// The web console's error catalogue: a stable code and the HTTP status its page is answered with. Errors of the
// services it calls (access requests, locks, durations, identity) keep their own codes and are shown with them
// (index.ts answerError).
import { CodedError } from '../../pgwire/index.js';

export const UI_ERRORS = {
  /** No console session, or it expired or was ended: GET pages go to the sign-in, anything else is refused. */
  SIGNED_OUT: { code: 'AGENTDB_ERR_UI_SIGNED_OUT', status: 401 },
  /** A state-changing request without this session's CSRF token. */
  CSRF: { code: 'AGENTDB_ERR_UI_CSRF', status: 403 },
  /** A state-changing request from another origin (Origin, or Sec-Fetch-Site). */
  ORIGIN: { code: 'AGENTDB_ERR_UI_ORIGIN', status: 403 },
  /** The signed-in identity holds no role for this page (audit, sessions, locks). */
  FORBIDDEN: { code: 'AGENTDB_ERR_UI_FORBIDDEN', status: 403 },
  NOT_FOUND: { code: 'AGENTDB_ERR_UI_NOT_FOUND', status: 404 },
  /** The IdP's answer did not match a sign-in this browser started. */
  SIGN_IN: { code: 'AGENTDB_ERR_UI_SIGN_IN', status: 400 },
  /** A form or query field the page cannot take. */
  BAD_REQUEST: { code: 'AGENTDB_ERR_UI_BAD_REQUEST', status: 400 },
  /** An unexpected failure (details only in the control plane's log). */
  INTERNAL: { code: 'AGENTDB_ERR_UI_INTERNAL', status: 500 },
} as const;

type UiErrorKind = (typeof UI_ERRORS)[keyof typeof UI_ERRORS];
export type UiErrorCode = UiErrorKind['code'];

export class UiError extends CodedError<UiErrorCode> {
  readonly status: number;
  constructor(kind: UiErrorKind, message: string) {
    super(kind.code, message);
    this.status = kind.status;
  }
}
