import type { AuditEvent, AuditEventType } from './event.js';

/**
 * Event codes, stable per type and outcome (like Teleport's `TDB00I`), so alerts and scripts can
 * match an outcome without parsing messages. `A` for agentdb, two letters for the area, two digits
 * for the event, and a severity: I information, W warning (refused or denied), E error.
 *
 * | code   | type               | outcome                                                   |
 * | ------ | ------------------ | --------------------------------------------------------- |
 * | ALG00I | login              | succeeded                                                 |
 * | ALG00W | login              | failed (result.error set)                                 |
 * | ACI00I | cert.issued        |                                                           |
 * | ARQ00I | request.created    |                                                           |
 * | ARQ01I | request.approved   |                                                           |
 * | ARQ02W | request.denied     |                                                           |
 * | ARQ03W | request.expired    |                                                           |
 * | ADB00I | db.session.start   | session started                                           |
 * | ADB00E | db.session.start   | session could not start (result.error set)                |
 * | ADB00W | db.session.denied  | session refused (no statement)                            |
 * | ADB01I | db.session.end     |                                                           |
 * | ADB02I | db.session.query   | statement allowed and ran                                 |
 * | ADB02E | db.session.query   | statement allowed, the database returned an error         |
 * | ADB02W | db.session.denied  | statement denied by policy (statement set); also a query event with decision 'deny' |
 * | ADB03I | db.session.review  | statement held for human review                           |
 * | ALK00I | lock.created       |                                                           |
 * | ALK01I | lock.removed       |                                                           |
 */
export const AUDIT_CODES = {
  loginOk: 'ALG00I',
  loginFailed: 'ALG00W',
  certIssued: 'ACI00I',
  requestCreated: 'ARQ00I',
  requestApproved: 'ARQ01I',
  requestDenied: 'ARQ02W',
  requestExpired: 'ARQ03W',
  sessionStart: 'ADB00I',
  sessionStartFailed: 'ADB00E',
  sessionDenied: 'ADB00W',
  sessionEnd: 'ADB01I',
  query: 'ADB02I',
  queryFailed: 'ADB02E',
  statementDenied: 'ADB02W',
  statementReview: 'ADB03I',
  lockCreated: 'ALK00I',
  lockRemoved: 'ALK01I',
} as const;

type Outcome = Pick<AuditEvent, 'statement' | 'result'>;

const BY_TYPE: Record<AuditEventType, (e: Outcome) => string> = {
  login: (e) => (e.result?.error ? AUDIT_CODES.loginFailed : AUDIT_CODES.loginOk),
  'cert.issued': () => AUDIT_CODES.certIssued,
  'request.created': () => AUDIT_CODES.requestCreated,
  'request.approved': () => AUDIT_CODES.requestApproved,
  'request.denied': () => AUDIT_CODES.requestDenied,
  'request.expired': () => AUDIT_CODES.requestExpired,
  'db.session.start': (e) => (e.result?.error ? AUDIT_CODES.sessionStartFailed : AUDIT_CODES.sessionStart),
  'db.session.denied': (e) => (e.statement ? AUDIT_CODES.statementDenied : AUDIT_CODES.sessionDenied),
  'db.session.review': () => AUDIT_CODES.statementReview,
  'db.session.query': (e) =>
    e.statement?.decision === 'deny'
      ? AUDIT_CODES.statementDenied
      : e.result?.error
        ? AUDIT_CODES.queryFailed
        : AUDIT_CODES.query,
  'db.session.end': () => AUDIT_CODES.sessionEnd,
  'lock.created': () => AUDIT_CODES.lockCreated,
  'lock.removed': () => AUDIT_CODES.lockRemoved,
};

/** The code for an event of this type and outcome. */
export function auditCode(type: AuditEventType, outcome: Outcome): string {
  return BY_TYPE[type](outcome);
}

export function isAuditEventType(v: unknown): v is AuditEventType {
  return typeof v === 'string' && Object.hasOwn(BY_TYPE, v);
}
