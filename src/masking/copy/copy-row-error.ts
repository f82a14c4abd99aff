import { MaskingError, MaskingErrorCode } from '../errors.js';

/** The database's COPY data did not have the shape it must have: fail closed rather than pass it on. */
export function badCopyData(why: string): MaskingError {
  return new MaskingError(MaskingErrorCode.COPY_DATA, `COPY data from the database cannot be masked: ${why}`);
}
