export { Gateway, DEFAULT_GATEWAY_ADMISSION } from './gateway.js';
export type { GatewayOptions, GatewayDatabase, GatewayLogger } from './gateway.js';
export type { SessionContext, StatementDecision } from './session.js';
export { GatewayError, GatewayErrorCode } from './errors.js';
export type { BackendTarget } from './backend.js';
export { Provisioner, provisionedRoleName, PROVISIONED_PREFIX } from './provisioning.js';
export type { AdminLogin, ProvisionedLease } from './provisioning.js';
export { Admission, addressKey, connectionKey } from './admission.js';
export type { AdmissionLimits, AdmissionTicket } from './admission.js';
