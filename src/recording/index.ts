// Public face of session recording: the writer the gateway feeds, the reader, and the transcript
// `agentdb play` prints.
export { RecordingError, RecordingErrorCode } from './errors.js';
export type { RecordedStatement, RecordingEnd, RecordingHeader, SessionRecording } from './types.js';
export { FLUSH_ENTRIES, FLUSH_INTERVAL_MS, RecordingWriter } from './writer.js';
export { readRecording } from './reader.js';
export { formatSessionTime, renderTranscript } from './transcript.js';
