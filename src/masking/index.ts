// masking: what a session may see of the values it reads. Masked columns are masked by where a value comes
// from (RowDescription's origin, and the statement's parse tree for everything derived), backed by content
// detectors; where the origin cannot be established, the value is masked or the statement refused.
export { MaskingError, MaskingErrorCode } from './errors.js';
export { maskingBlockSchema, strategySchema, DETECTOR_KINDS } from './config.js';
export type { MaskingBlock, MaskingBlockInput, DetectorKind, StrategyConfig } from './config.js';
export { compileMasking, HASH_KEY_BYTES } from './policy.js';
export type { MaskingPolicy, CompileOptions } from './policy.js';
export { loadOrCreateHashKey, HASH_KEY_FILE } from './hash-key.js';
export { parseColumnName, columnKey } from './identifiers.js';
export type { ColumnName } from './identifiers.js';
export { maskText, describeStrategy, REDACTED } from './strategies.js';
export type { Strategy } from './strategies.js';
export { ContentScanner, DETECTOR_TAGS } from './detectors.js';
export { analyzeMaskedFlow } from './provenance/analyze-flow.js';
export type { MaskFlow, FlowOptions, OutputFlow, ColumnFlow, FilterUse, Refusal, RefusalReason, CopyFlow } from './provenance/flow.js';
export type { Taint } from './provenance/taint.js';
export type { CopyOptions } from './provenance/copy-options.js';
export { redactForAudit, redactQueryForAudit, redactParams, redactAllLiterals, AUDIT_PLACEHOLDER } from './provenance/audit-redaction.js';
export { maskingDenial } from './denial.js';
export { buildColumnPlan, buildCopyPlan } from './column-plan.js';
export type { ColumnPlan, ResultColumn, PlanResult } from './column-plan.js';
export { compileRowPlan, rewriteDataRow } from './datarow.js';
export type { RowPlan } from './datarow.js';
export { CopyOutRewriter } from './copy/copy-out-rewriter.js';
export { rewriteNotification } from './notification.js';
export { canCarryText, isScannable } from './value-types.js';
export { maskParameterValue, maskReport, readsMasked, WITHHELD_ERROR, WITHHELD_NOTICE } from './report.js';
export type { MaskedReads, ReportText } from './report.js';
