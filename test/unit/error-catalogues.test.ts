// The error catalogues: every code a stable AGENTDB_ERR_* string named once, every module's error class built on
// pgwire's CodedError and taking its catalogue's codes, the gateway's codes carrying the SQLSTATE a client reads,
// and the one mapping from the CLI's exit codes to the SQLSTATE the proxy answers with.
import { describe, expect, test } from 'vitest';
import { AuditError, AuditErrorCode } from '../../src/audit/index.js';
import { CaError, CaErrorCode } from '../../src/ca/index.js';
import { CliErrorCode, UsageError } from '../../src/cli/errors.js';
import { ClientError, ClientErrorCode, ExitCode } from '../../src/client/index.js';
import { refusalSqlState } from '../../src/client/refusal-state.js';
import { GatewayError, GatewayErrorCode } from '../../src/gateway/index.js';
import { GATEWAY_SQL_STATE } from '../../src/gateway/errors.js';
import { IdentityError, IdentityErrorCode } from '../../src/identity/errors.js';
import { MaskingError, MaskingErrorCode } from '../../src/masking/index.js';
import { McpError, McpErrorCode } from '../../src/mcp/errors.js';
import { CodedError, PgwireError, PgwireErrorCode, SqlState } from '../../src/pgwire/index.js';
import { PolicyError, PolicyErrorCode } from '../../src/policy/index.js';
import { RecordingError, RecordingErrorCode } from '../../src/recording/index.js';
import { ServerError, ServerErrorCode } from '../../src/server/errors.js';
import { StoreError, StoreErrorCode } from '../../src/store/index.js';

const CATALOGUES: Record<string, Record<string, string>> = {
  AuditErrorCode, CaErrorCode, CliErrorCode, ClientErrorCode, GatewayErrorCode, IdentityErrorCode, MaskingErrorCode,
  McpErrorCode, PgwireErrorCode, PolicyErrorCode, RecordingErrorCode, ServerErrorCode, StoreErrorCode,
};
// The one code two catalogues hold: the CLI reports the control plane's "no signing key" answer as the audit module's code.
const SHARED = new Set(['AGENTDB_ERR_AUDIT_NO_KEY']);

describe('catalogues', () => {
  test('every code is AGENTDB_ERR_ in capitals and stands in one catalogue once', () => {
    const seen = new Map<string, string>();
    for (const [name, catalogue] of Object.entries(CATALOGUES)) {
      expect(Object.keys(catalogue).length, name).toBeGreaterThan(0);
      for (const [key, code] of Object.entries(catalogue)) {
        expect(code, `${name}.${key}`).toMatch(/^AGENTDB_ERR_[A-Z0-9_]+$/);
        const other = seen.get(code);
        if (other !== undefined && !SHARED.has(code)) expect.fail(`${code} is in ${other} and ${name}.${key}`);
        seen.set(code, `${name}.${key}`);
      }
    }
    expect(seen.size).toBeGreaterThan(150);
  });

  test('each module\'s error class is a CodedError with its code, its own name and, when given, its cause', () => {
    const cause = new Error('below');
    const errors: [CodedError, string][] = [
      [new AuditError(AuditErrorCode.JOURNAL, 'm', { cause }), 'AuditError'],
      [new CaError(CaErrorCode.BAD_CSR, 'm', { cause }), 'CaError'],
      [new ClientError(ClientErrorCode.PROFILE, 'm'), 'ClientError'],
      [new GatewayError(GatewayErrorCode.LOCKED, 'm'), 'GatewayError'],
      [new IdentityError(IdentityErrorCode.NO_ROLES, 'm', { cause }), 'IdentityError'],
      [new MaskingError(MaskingErrorCode.REFUSED, 'm', { cause }), 'MaskingError'],
      [new McpError(McpErrorCode.GATEWAY, 'm'), 'McpError'],
      [new PgwireError(PgwireErrorCode.BAD_LENGTH, 'm'), 'PgwireError'],
      [new PolicyError(PolicyErrorCode.DB_NAME, 'm'), 'PolicyError'],
      [new RecordingError(RecordingErrorCode.ENDED, 'm', { cause }), 'RecordingError'],
      [new ServerError(ServerErrorCode.LOCK_TARGET, 'm'), 'ServerError'],
      [new StoreError(StoreErrorCode.BUSY, 'm', { cause }), 'StoreError'],
      [new UsageError('m'), 'UsageError'],
    ];
    for (const [err, name] of errors) {
      expect(err, name).toBeInstanceOf(CodedError);
      expect(err.name).toBe(name);
      expect(err.message).toBe('m');
      expect(Object.values(CATALOGUES).some((c) => Object.values(c).includes(err.code)), name).toBe(true);
    }
    expect(new StoreError(StoreErrorCode.BUSY, 'm', { cause }).cause).toBe(cause);
    expect(new StoreError(StoreErrorCode.BUSY, 'm')).not.toHaveProperty('cause');
    expect(new UsageError('m').code).toBe('AGENTDB_ERR_USAGE');
    expect(new CaError(CaErrorCode.BAD_KEY, 'm').isRequestFault).toBe(true);
    expect(new CaError(CaErrorCode.FILES, 'm').isRequestFault).toBe(false);
  });

  test('an audit write failure carries the SQLSTATE of its cause; other audit errors carry none', () => {
    const full = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    expect(new AuditError(AuditErrorCode.WRITE_FAILED, 'm', { cause: full }).sqlState).toBe('53100');
    expect(new AuditError(AuditErrorCode.WRITE_FAILED, 'm', { cause: new Error('eio') }).sqlState).toBe('58030');
    expect(new AuditError(AuditErrorCode.CORRUPT, 'm', { cause: full }).sqlState).toBeUndefined();
  });
});

describe('the gateway\'s SQLSTATEs', () => {
  test('every code has one, and a GatewayError carries it unless its raiser relays PostgreSQL\'s own', () => {
    for (const code of Object.values(GatewayErrorCode)) expect(GATEWAY_SQL_STATE[code], code).toMatch(/^[0-9A-Z]{5}$/);
    expect(new GatewayError(GatewayErrorCode.NO_CERT, 'm').sqlState).toBe(SqlState.INVALID_AUTHORIZATION);
    expect(new GatewayError(GatewayErrorCode.BACKEND_CLOSED, 'm').sqlState).toBe(SqlState.CONNECTION_FAILURE);
    expect(new GatewayError(GatewayErrorCode.PROVISION_COLLISION, 'm').sqlState).toBe('42710');
    const relayed = new GatewayError(GatewayErrorCode.BACKEND_QUERY, 'm', '42P01', 'detail', 'hint');
    expect(relayed).toMatchObject({ sqlState: '42P01', detail: 'detail', hint: 'hint' });
  });
});

describe('exit codes', () => {
  test('are the CLI contract\'s numbers', () => {
    expect(ExitCode).toEqual({ OK: 0, FAILURE: 1, USAGE: 2, NOT_LOGGED_IN: 3, DENIED: 4, APPROVAL_TIMEOUT: 5 });
  });

  test('the proxy tells a local client 28000 for "log in again" and "denied", 08001 for no control plane, 08006 otherwise', () => {
    expect(refusalSqlState(new ClientError(ClientErrorCode.NOT_LOGGED_IN, 'm', ExitCode.NOT_LOGGED_IN))).toBe('28000');
    expect(refusalSqlState(new ClientError<string>('AGENTDB_ERR_CERT_NO_GRANT', 'm', ExitCode.DENIED))).toBe('28000');
    expect(refusalSqlState(new ClientError(ClientErrorCode.UNREACHABLE, 'm'))).toBe('08006');
    expect(refusalSqlState(new Error('socket hang up'))).toBe('08006');
    expect(refusalSqlState(new ClientError(ClientErrorCode.PROXY_CONTROL_PLANE_DOWN, 'm'))).toBe('08001');
  });
});
