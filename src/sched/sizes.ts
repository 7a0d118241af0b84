/**
 * Encoded sizes of what the scheduler's codecs (codecs.ts) write: a packed
 * value, and the fixed parts of the items of each op and answer. The
 * callers cut ops (and the state cuts a client's claim answer) by them, so
 * that each fits where it goes: a log entry, or a client's request slot.
 */

/** A payload or result as it travels: a primitive as itself, anything else as its v8 bytes. */
export type Packed = number | string | boolean | null | undefined | Uint8Array;

/** Bytes `writePacked` writes for `p` (exact; a long string's UTF-8 length is counted only when it could matter). */
export function packedBytes(p: Packed, limit: number): number {
  if (p instanceof Uint8Array) return 5 + p.byteLength;
  if (typeof p === 'string') return 5 + (p.length * 3 <= limit ? p.length * 3 : Buffer.byteLength(p, 'utf8'));
  return 9;
}

/** Fixed bytes of one task spec in a submit op (kind, priority, deadline, maxAttempts, backoff), beside its packed payload. */
export const SPEC_BYTES = 32;
/** Fixed bytes of one completion in a finish op (id, attempt, tag) and of a reason's length prefix. */
export const COMPLETION_BYTES = 17;
/** Bytes of one renewal item (id, attempt). */
export const RENEW_ITEM_BYTES = 12;
/** Fixed bytes of one claimed task in a claim's answer to a client (id, attempt, kind), beside its packed payload. */
export const CLAIMED_TASK_BYTES = 16;
/** Most bytes of a claim answer's fixed part: its effects (work flag, up to 64 woken submitters), lease end, count. */
export const CLAIM_RESULT_BYTES = 1 + 4 + 4 * 64 + 8 + 4;
