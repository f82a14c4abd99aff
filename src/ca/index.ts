// The certificate authority: issue, parse and verify task certificates and server certificates.
export { CertificateAuthority } from './authority.js';
export type { IssueServerCertOptions, IssueTaskCertOptions } from './authority.js';
export type { CaName } from './ca-files.js';
export { generateClientKey } from './client-key.js';
export type { ClientKey } from './client-key.js';
export { CaError, CaErrorCode } from './errors.js';
export { TASK_CERT_EXTENSION_OID } from './payload.js';
export type { IdentityKind, TaskCertPayload } from './payload.js';
export { parseTaskCert } from './task-cert.js';
export type { TaskCertificate } from './task-cert.js';
