/**
 * Reads the raw words of a log for the trust tests (issue 11). All knowledge
 * of the log's raw layout in the tests lives here, so a layout change breaks
 * one file: HEAD, TAIL and CTAIL sit alone on lines 1, 2 and 3 (Int32 words
 * 16, 32, 48); replica slot r's LTAIL and STATE are words 128 + 32r and
 * 128 + 32r + 1; a STATE word is `incarnation << 4 | state`. Reads are
 * atomic loads: this is another thread's view.
 */
import type { NrHandle } from '../../src/nr/index.js';

const HEAD = 16;
const TAIL = 32;
const CTAIL = 48;
const SLOTS_AT = 128;
const SLOT_WORDS = 32;

/** Slot states as stored in a slot's STATE word. */
export const SLOT_STATE = { Free: 0, Reserved: 1, Active: 2, Detached: 3, Fenced: 4, Recovering: 5, Dead: 6 } as const;

export interface LogWords {
  head: number;
  tail: number;
  ctail: number;
}

function words(handle: NrHandle): Int32Array {
  return new Int32Array(handle.memory.buffer);
}

export function peekLog(handle: NrHandle): LogWords {
  const w = words(handle);
  return { head: Atomics.load(w, HEAD), tail: Atomics.load(w, TAIL), ctail: Atomics.load(w, CTAIL) };
}

export function peekSlot(handle: NrHandle, r: number): { ltail: number; state: number } {
  const w = words(handle);
  return { ltail: Atomics.load(w, SLOTS_AT + SLOT_WORDS * r), state: Atomics.load(w, SLOTS_AT + SLOT_WORDS * r + 1) & 0xf };
}

/** How far position `a` is ahead of `b` (positions wrap modulo 2^32). */
export function ahead(a: number, b: number): number {
  return (a - b) | 0;
}
