/** Protocol version 3.0 as sent in a StartupMessage: major in the high 16 bits, minor in the low 16. */
export const PROTOCOL_3_0 = 196608; // 3 << 16
/** Protocol 3.2 (PostgreSQL 18): variable-length cancel keys. */
export const PROTOCOL_3_2 = 196610; // (3 << 16) | 2
/** The newest minor version of protocol 3 that this module knows. */
export const LATEST_PROTOCOL_MINOR = 2;

// Special request codes use the reserved major version 1234, so they can never be a real version.
export const CANCEL_REQUEST_CODE = 80877102; // (1234 << 16) | 5678
export const SSL_REQUEST_CODE = 80877103; // (1234 << 16) | 5679
export const GSSENC_REQUEST_CODE = 80877104; // (1234 << 16) | 5680

/** PostgreSQL refuses startup packets whose body (after the length word) exceeds this. */
export const MAX_STARTUP_PACKET_LENGTH = 10000;
/** Cancel keys: exactly 4 bytes in 3.0; 4 to 256 bytes in 3.2 (PostgreSQL 18 sends 32). */
export const MIN_CANCEL_KEY_LENGTH = 4;
export const MAX_CANCEL_KEY_LENGTH = 256;
/** PostgreSQL's own limit for one message (MaxAllocSize - 1). */
export const DEFAULT_MAX_MESSAGE_LENGTH = 0x3fffffff;

/** Options in a StartupMessage whose name starts with this are protocol extensions, not settings. */
export const PROTOCOL_OPTION_PREFIX = '_pq_.';

/** SQLSTATE codes the gateway reports to PostgreSQL clients. */
export const SqlState = {
  WARNING: '01000',
  INVALID_AUTHORIZATION: '28000',
  INVALID_PASSWORD: '28P01',
  INSUFFICIENT_PRIVILEGE: '42501',
  PROTOCOL_VIOLATION: '08P01',
  CONNECTION_FAILURE: '08006',
  /** what libpq reports when it cannot connect: the proxy when the control plane it needs cannot be reached */
  UNABLE_TO_ESTABLISH_CONNECTION: '08001',
  CANNOT_CONNECT_NOW: '57P03',
  ADMIN_SHUTDOWN: '57P01',
  QUERY_CANCELED: '57014',
  FEATURE_NOT_SUPPORTED: '0A000',
  INTERNAL_ERROR: 'XX000',
  IO_ERROR: '58030',
  PROGRAM_LIMIT_EXCEEDED: '54000',
  TOO_MANY_CONNECTIONS: '53300',
  INVALID_CATALOG_NAME: '3D000',
  CHARACTER_NOT_IN_REPERTOIRE: '22021',
  DUPLICATE_PREPARED_STATEMENT: '42P05',
  DUPLICATE_CURSOR: '42P03',
  DUPLICATE_OBJECT: '42710',
} as const;

/** Type bytes of the frontend (client to server) messages. */
export const FrontendType = {
  Bind: 0x42, // 'B'
  Close: 0x43, // 'C'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyFail: 0x66, // 'f'
  Describe: 0x44, // 'D'
  Execute: 0x45, // 'E'
  Flush: 0x48, // 'H'
  FunctionCall: 0x46, // 'F'
  Parse: 0x50, // 'P'
  /** PasswordMessage, SASLInitialResponse, SASLResponse, GSSResponse all share 'p'. */
  Password: 0x70, // 'p'
  Query: 0x51, // 'Q'
  Sync: 0x53, // 'S'
  Terminate: 0x58, // 'X'
} as const;

/** Type bytes of the backend (server to client) messages. */
export const BackendType = {
  Authentication: 0x52, // 'R'
  BackendKeyData: 0x4b, // 'K'
  BindComplete: 0x32, // '2'
  CloseComplete: 0x33, // '3'
  CommandComplete: 0x43, // 'C'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyInResponse: 0x47, // 'G'
  CopyOutResponse: 0x48, // 'H'
  CopyBothResponse: 0x57, // 'W'
  DataRow: 0x44, // 'D'
  EmptyQueryResponse: 0x49, // 'I'
  ErrorResponse: 0x45, // 'E'
  FunctionCallResponse: 0x56, // 'V'
  NegotiateProtocolVersion: 0x76, // 'v'
  NoData: 0x6e, // 'n'
  NoticeResponse: 0x4e, // 'N'
  NotificationResponse: 0x41, // 'A'
  ParameterDescription: 0x74, // 't'
  ParameterStatus: 0x53, // 'S'
  ParseComplete: 0x31, // '1'
  PortalSuspended: 0x73, // 's'
  ReadyForQuery: 0x5a, // 'Z'
  RowDescription: 0x54, // 'T'
} as const;
