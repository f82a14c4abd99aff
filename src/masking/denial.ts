// Whether a statement may run at all, before it reaches the database: what masking the result cannot undo.
import { MaskingError, MaskingErrorCode } from './errors.js';
import type { MaskingPolicy } from './policy.js';
import type { MaskFlow } from './provenance/flow.js';

/** The error to refuse the statement with, or undefined when masking its result is enough. */
export function maskingDenial(flow: MaskFlow, policy: MaskingPolicy): MaskingError | undefined {
  if (flow.refusal) return new MaskingError(MaskingErrorCode.REFUSED, flow.refusal.message);
  if (flow.filterOnMasked && policy.filters === 'deny') return new MaskingError(MaskingErrorCode.FILTER, flow.filterOnMasked.message);
  return undefined;
}
