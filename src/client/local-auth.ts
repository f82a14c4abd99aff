// The proxy's own check of a local client: any local user can reach a loopback port, so before a byte goes
// to the gateway under the task certificate, the client proves it knows this proxy's secret. SCRAM-SHA-256,
// as PostgreSQL runs it, so every client that can log in to PostgreSQL can log in here, and the secret
// itself never crosses the local socket (a cleartext password would be readable by whoever can trace it).
import type net from 'node:net';
import {
  FrontendType,
  MessageFramer,
  PgwireError,
  PgwireErrorCode,
  SCRAM_SHA_256,
  ScramSha256Server,
  SqlState,
  authenticationSasl,
  authenticationSaslContinue,
  authenticationSaslFinal,
  errorResponse,
  readSaslInitialResponse,
  readSaslResponse,
  type ScramSecret,
} from '../pgwire/index.js';
import { ClientError, ClientErrorCode } from './errors.js';
import { ExitCode } from './exit-codes.js';

/** PostgreSQL's authentication_timeout default: a client that stops mid-exchange does not hold a socket. */
const AUTH_TIMEOUT_MS = 60_000;
// The SCRAM messages are a few hundred bytes; anything near this is not a client logging in.
const MAX_AUTH_MESSAGE = 8 * 1024;

/**
 * Runs the SASL exchange on `socket`, whose StartupMessage has been read (`early`: bytes the client sent
 * after it). Resolves once the client proved it knows the secret and AuthenticationSASLFinal is sent: the
 * caller's AuthenticationOk comes from the gateway. Otherwise the client got a FATAL ErrorResponse (28P01
 * for a wrong or missing password), the socket is closed, and the promise rejects with why.
 */
export function authenticateLocalClient(socket: net.Socket, secret: ScramSecret, user: string, early: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const framer = new MessageFramer(MAX_AUTH_MESSAGE);
    const scram = new ScramSha256Server(secret);
    let step: 'initial' | 'response' | 'proved' | 'done' = 'initial';
    let serverFinal: Buffer | undefined;
    const finish = (err?: ClientError) => {
      if (step === 'done') return;
      step = 'done';
      clearTimeout(timer);
      // Paused before the listener goes: what the client sends next waits for the caller's pipe.
      socket.pause();
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err === undefined) return resolve();
      reject(err);
    };
    const refuse = (sqlState: string, why: string) => {
      const invalidPassword = sqlState === SqlState.INVALID_PASSWORD;
      socket.end(
        errorResponse({
          severity: 'FATAL',
          code: sqlState,
          // PostgreSQL's own wording, so tools that recognise a bad password recognise this one.
          message: invalidPassword ? `password authentication failed for user "${user}"` : `agentdb proxy: ${why}`,
          ...(invalidPassword ? { hint: 'Use the URL (with its password) that `agentdb proxy` printed, or the PGPASSWORD that `agentdb exec` sets.' } : {}),
        }),
      );
      setTimeout(() => socket.destroy(), 1000).unref();
      finish(new ClientError(ClientErrorCode.PROXY_LOCAL_AUTH, why, ExitCode.DENIED));
    };
    const onMessage = (type: number, buf: Buffer, offset: number, length: number) => {
      if (step === 'done') return;
      if (step === 'proved') throw new PgwireError(PgwireErrorCode.SCRAM_PROTOCOL, 'the local client sent more after its SASL response, before authentication ended');
      if (type !== FrontendType.Password) {
        refuse(SqlState.INVALID_PASSWORD, `expected a SASL response from the local client, got message type ${type}`);
        return;
      }
      if (step === 'initial') {
        const { mechanism, data } = readSaslInitialResponse(buf, offset, length);
        if (mechanism !== SCRAM_SHA_256) throw new PgwireError(PgwireErrorCode.SCRAM_PROTOCOL, `the local client chose SASL mechanism ${JSON.stringify(mechanism)}, not ${SCRAM_SHA_256}`);
        socket.write(authenticationSaslContinue(scram.serverFirstMessage(data)));
        step = 'response';
        return;
      }
      serverFinal = scram.serverFinalMessage(readSaslResponse(buf, offset, length));
      step = 'proved';
    };
    const onData = (chunk: Buffer) => {
      try {
        framer.feed(chunk, onMessage);
        if (step !== 'proved') return;
        // AuthenticationOk is the gateway's to send and the client waits for it: it has nothing to send yet.
        if (framer.pending > 0) throw new PgwireError(PgwireErrorCode.SCRAM_PROTOCOL, 'the local client sent more after its SASL response, before authentication ended');
        socket.write(authenticationSaslFinal(serverFinal!));
        finish();
      } catch (err) {
        // A malformed or wrong answer is a failed login like a wrong password: the client learns no more.
        refuse(SqlState.INVALID_PASSWORD, err instanceof Error ? err.message : String(err));
      }
    };
    const onClose = () => finish(new ClientError(ClientErrorCode.PROXY_LOCAL_AUTH, 'the local client closed the connection without completing authentication (no password?)', ExitCode.DENIED));
    const timer = setTimeout(() => {
      refuse(SqlState.INVALID_PASSWORD, `the local client did not complete authentication within ${AUTH_TIMEOUT_MS / 1000} s`);
    }, AUTH_TIMEOUT_MS);
    timer.unref();
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.write(authenticationSasl([SCRAM_SHA_256]));
    if (early.length > 0) onData(early);
    socket.resume();
  });
}
