// SCRAM-SHA-256 both ways: our client against our server with random passwords (SASLprep cases included) agrees
// exactly when the prepared passwords agree; a tampered or random message on either side ends in one of the
// errors that side documents, never another exception and never a silent success with a wrong password.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { PgwireError, PgwireErrorCode, ScramSha256Client, ScramSha256Server, scramSecret } from '../../src/pgwire/index.js';
import { saslprepPassword } from '../../src/pgwire/saslprep.js';
import { caught, checkTarget, mutate, mutationsArb, selected, type FuzzCounter, type FuzzTarget } from './harness.js';

// SASLprep's interesting characters: mapped to nothing (soft hyphen, ZWJ), non-ASCII spaces, NFKC-changed
// (ligature, fullwidth, roman numeral), prohibited (controls, private use, lone surrogates), right-to-left.
const SASLPREP_CASES = ['\u00AD', '\u200D', '\u00A0', '\u3000', '\uFB01', '\uFF21', '\u2168', '\u0007', '\uE000', '\uD800', '\u05D0', '\u0627', 'é', 'e\u0301', '\u{1F600}'];
const passwordArb = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ maxLength: 12, unit: 'grapheme' }),
  fc.string({ maxLength: 16, unit: 'binary' }),
  fc.array(fc.oneof(fc.constantFrom(...SASLPREP_CASES), fc.string({ maxLength: 3 })), { maxLength: 8 }).map((a) => a.join('')),
);
// A few PBKDF2 rounds: the rounds change nothing the property looks at, and each costs time.
const secretArb = fc.record({ salt: fc.uint8Array({ minLength: 1, maxLength: 32 }), iterations: fc.integer({ min: 1, max: 16 }) });
const nonceArb = fc.uint8Array({ minLength: 1, maxLength: 24 });

const SERVER_ERRORS: string[] = [PgwireErrorCode.SCRAM_PROTOCOL, PgwireErrorCode.SCRAM_BAD_PROOF];
const CLIENT_ERRORS: string[] = [PgwireErrorCode.SCRAM_PROTOCOL, PgwireErrorCode.SCRAM_SERVER_ERROR, PgwireErrorCode.SCRAM_SERVER_SIGNATURE];

function expectCoded(err: unknown, codes: string[]): void {
  if (!(err instanceof PgwireError)) expect.fail(`expected a PgwireError, got ${String(err)}${err instanceof Error ? `\n${err.stack}` : ''}`);
  expect(codes).toContain(err.code);
}

type Step = 'client-first' | 'server-first' | 'client-final' | 'server-final';

/** One exchange; `tamper` alters the message sent at one step. Returns the error that ended it, if any. */
function exchange(clientPassword: string, serverPassword: string, s: { salt: Uint8Array; iterations: number }, cn: Uint8Array, sn: Uint8Array, tamper?: { step: Step; change: (b: Buffer) => Buffer }, counter?: FuzzCounter): { error: unknown; side?: 'client' | 'server' } {
  const client = new ScramSha256Client(clientPassword, Buffer.from(cn));
  const server = new ScramSha256Server(scramSecret(serverPassword, Buffer.from(s.salt), s.iterations), Buffer.from(sn));
  const t = (step: Step, b: Buffer) => (tamper?.step === step ? tamper.change(b) : b);
  let msg = t('client-first', client.clientFirstMessage());
  if (counter) counter.messages++;
  let error = caught(() => (msg = t('server-first', server.serverFirstMessage(msg))));
  if (error) return { error, side: 'server' };
  error = caught(() => (msg = t('client-final', client.clientFinalMessage(msg))));
  if (error) return { error, side: 'client' };
  if (counter) counter.messages++;
  error = caught(() => (msg = t('server-final', server.serverFinalMessage(msg))));
  if (error) return { error, side: 'server' };
  error = caught(() => client.verifyServerFinal(msg));
  return error ? { error, side: 'client' } : { error: undefined };
}

const targets: Record<string, FuzzTarget> = {
  roundTrip: { name: 'scram.round-trip', ciRuns: 150, frontend: true },
  tampered: { name: 'scram.tampered', ciRuns: 200, frontend: true },
  garbage: { name: 'scram.garbage', ciRuns: 300, frontend: true },
};

describe('fuzz: SCRAM-SHA-256 client and server', () => {
  const counter: FuzzCounter = { messages: 0 };

  test.runIf(selected(targets.roundTrip!.name))('an exchange succeeds exactly when the SASLprep-ed passwords are equal', () => {
    checkTarget(
      targets.roundTrip!,
      counter,
      fc.property(passwordArb, fc.oneof(passwordArb, fc.constant(undefined)), secretArb, nonceArb, nonceArb, (password, other, s, cn, sn) => {
        const serverPassword = other ?? password;
        const { error, side } = exchange(password, serverPassword, s, cn, sn, undefined, counter);
        if (saslprepPassword(password) === saslprepPassword(serverPassword)) {
          expect(error).toBeUndefined();
        } else {
          expect(side).toBe('server');
          expectCoded(error, [PgwireErrorCode.SCRAM_BAD_PROOF]);
        }
      }),
    );
  });

  test.runIf(selected(targets.tampered!.name))('a tampered message ends the exchange with an expected error, or changes nothing', () => {
    const stepArb = fc.constantFrom<Step>('client-first', 'server-first', 'client-final', 'server-final');
    checkTarget(
      targets.tampered!,
      counter,
      fc.property(passwordArb, secretArb, nonceArb, nonceArb, stepArb, mutationsArb, (password, s, cn, sn, step, mutations) => {
        const { error, side } = exchange(password, password, s, cn, sn, {
          step,
          change: (b) => mutate(b, mutations),
        }, counter);
        if (error !== undefined) return expectCoded(error, side === 'server' ? SERVER_ERRORS : CLIENT_ERRORS);
        // A change can pass unnoticed only where it carries no meaning to the side that reads it, e.g. the
        // unused bits of a base64 quantum in a proof or signature: the bytes that are checked are unchanged.
      }),
    );
  });

  test.runIf(selected(targets.garbage!.name))('random bytes at any step: only the documented errors', () => {
    const bytesArb = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      // SCRAM-shaped text, so parsing gets past the first attribute.
      fc.array(fc.tuple(fc.constantFrom('n', 'y', 'p', 'r', 's', 'i', 'c', 'v', 'e', 'm', ''), fc.string({ maxLength: 30 })), { maxLength: 6 }).map((kv) =>
        Buffer.from(kv.map(([k, v]) => (k ? `${k}=${v}` : v)).join(',')),
      ),
    );
    checkTarget(
      targets.garbage!,
      counter,
      fc.property(secretArb, nonceArb, bytesArb, bytesArb, fc.boolean(), (s, cn, first, second, serverSide) => {
        if (serverSide) {
          const server = new ScramSha256Server(scramSecret('pw', Buffer.from(s.salt), s.iterations), Buffer.from(cn));
          counter.messages += 2;
          const e1 = caught(() => server.serverFirstMessage(first));
          if (e1 !== undefined) return expectCoded(e1, SERVER_ERRORS);
          const e2 = caught(() => server.serverFinalMessage(second));
          if (e2 !== undefined) return expectCoded(e2, SERVER_ERRORS);
          expect.fail('the server accepted a proof from random bytes');
        }
        const client = new ScramSha256Client('pw', Buffer.from(cn));
        client.clientFirstMessage();
        const e1 = caught(() => client.clientFinalMessage(first));
        if (e1 !== undefined) return expectCoded(e1, CLIENT_ERRORS);
        const e2 = caught(() => client.verifyServerFinal(second));
        if (e2 !== undefined) return expectCoded(e2, CLIENT_ERRORS);
        expect.fail('the client accepted a server signature from random bytes');
      }),
    );
  });
});
