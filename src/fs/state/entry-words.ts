/**
 * Words of a log entry that an apply takes as a size, a time or an owner id.
 * A log entry is shared memory, data to validate: a value no issuer writes
 * (its call site checks sizes as safe integers >= 0, times come from
 * Date.now() or node's toUnixTimestamp, ids are -1 or uint32) is a forged
 * or torn entry, and the replica decoding it fail-stops rather than keep a
 * file of size -1 or NaN, a time NaN or an owner 1.5. The issuer applies its
 * own record as passed, never these decodes.
 */
import { FailStopError, type OpReader } from '../../nr/index.js';

/** A file length (truncate, ftruncate): a safe integer >= 0 (one too large is the apply's EFBIG). */
export function sizeWord(r: OpReader, op: string): number {
  const v = r.f64();
  if (!(Number.isSafeInteger(v) && v >= 0)) throw new FailStopError(`NrFS ${op}: a length of ${v} in a log entry (a forged entry)`);
  return v;
}

/** A time in ms: finite. */
export function timeWord(r: OpReader, op: string): number {
  const v = r.f64();
  if (!Number.isFinite(v)) throw new FailStopError(`NrFS ${op}: a time of ${v} in a log entry (a forged entry)`);
  return v;
}

/** An owner or group id of chown: -1 (unchanged) or a uint32. */
export function idWord(r: OpReader, op: string): number {
  const v = r.f64();
  if (!(v === -1 || (Number.isInteger(v) && v >= 0 && v <= 0xffffffff))) throw new FailStopError(`NrFS ${op}: an owner id of ${v} in a log entry (a forged entry)`);
  return v;
}
