// pgwire: the PostgreSQL wire protocol (3.0 and 3.2) as the gateway needs it. Imports nothing of the project.
export {
  PROTOCOL_3_0,
  PROTOCOL_3_2,
  LATEST_PROTOCOL_MINOR,
  SSL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  CANCEL_REQUEST_CODE,
  MAX_STARTUP_PACKET_LENGTH,
  MIN_CANCEL_KEY_LENGTH,
  MAX_CANCEL_KEY_LENGTH,
  DEFAULT_MAX_MESSAGE_LENGTH,
  PROTOCOL_OPTION_PREFIX,
  SqlState,
  FrontendType,
  BackendType,
} from './constants.js';
export { PgwireError, PgwireErrorCode } from './errors.js';
export { CodedError, type CodedErrorOptions } from './coded-error.js';

export { StartupReader, isTlsHandshakeStart, type StartupPacket } from './startup-reader.js';
export { MessageFramer, forEachMessage, type OnMessage } from './framer.js';

export {
  readQuery,
  readParse,
  readBind,
  readExecute,
  readCloseOrDescribe,
  textIsUtf8,
  queryTextBytes,
  readSaslInitialResponse,
  readSaslResponse,
  type ParseMessage,
  type BindMessage,
} from './frontend-decoders.js';
export {
  readErrorFields,
  readReportFields,
  readRowDescription,
  readCommandComplete,
  rowsOfTag,
  readParameterStatus,
  readBackendKeyData,
  readReadyForQuery,
  readAuthentication,
  readNegotiateProtocolVersion,
  readDataRow,
  readDataRowColumnCount,
  type ErrorFields,
  type ReportField,
  type FieldDescription,
  type AuthRequest,
} from './backend-decoders.js';

export {
  errorResponse,
  noticeResponse,
  reportMessage,
  authenticationOk,
  authenticationSasl,
  authenticationSaslContinue,
  authenticationSaslFinal,
  parameterStatus,
  backendKeyData,
  readyForQuery,
  negotiateProtocolVersion,
  rowDescription,
  dataRow,
  copyOutData,
  commandComplete,
  SSL_ACCEPT,
  SSL_REFUSE,
  type ReportFields,
} from './backend-builders.js';
export {
  startupMessage,
  sslRequest,
  cancelRequest,
  passwordMessage,
  saslInitialResponse,
  saslResponse,
  queryMessage,
  parseMessage,
  describeMessage,
  terminateMessage,
} from './frontend-builders.js';
export { md5PasswordHash } from './md5-password.js';
export { ScramSha256Client, ScramSha256Server, scramSecret, SCRAM_SHA_256, MAX_SCRAM_ITERATIONS, type ScramOptions, type ScramSecret } from './scram.js';
