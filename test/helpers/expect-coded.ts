// The error a call must raise: of the module's error class, with its stable AGENTDB_ERR_* code (and message)
// when given. It fails the test when nothing is raised, so a check of the returned error can never pass vacuously.
import { expect } from 'vitest';

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

function checked<E extends Error>(err: unknown, type: ErrorClass<E>, code?: string, message?: RegExp): E {
  expect(err).toBeInstanceOf(type);
  const e = err as E & { code?: unknown };
  if (code !== undefined) expect(e.code, e.message).toBe(code);
  if (message) expect(e.message).toMatch(message);
  return e;
}

/** What `fn` throws, checked to be a `type` (with `code` and a `message` matching, when given). */
export function thrown<E extends Error>(type: ErrorClass<E>, fn: () => unknown, code?: string, message?: RegExp): E {
  try {
    fn();
  } catch (err) {
    return checked(err, type, code, message);
  }
  throw new Error(`expected ${type.name}${code ? ` ${code}` : ''}, but nothing was thrown`);
}

/** What `p` rejects with, checked as `thrown` checks it. */
export async function rejected<E extends Error>(type: ErrorClass<E>, p: Promise<unknown>, code?: string, message?: RegExp): Promise<E> {
  const outcome = await p.then(
    () => ({ resolved: true as const }),
    (err: unknown) => ({ resolved: false as const, err }),
  );
  if (outcome.resolved) throw new Error(`expected ${type.name}${code ? ` ${code}` : ''}, but the promise resolved`);
  return checked(outcome.err, type, code, message);
}
