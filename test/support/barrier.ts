/**
 * Cross-thread helpers for tests: a shared logical clock (one Atomics counter
 * gives every invocation and response a unique, real-time-ordered stamp) and
 * an async barrier that keeps the event loop free, so a replica that has
 * finished its own ops can still be nudged by writers that need log space.
 */
import { arrive, waitUntilAtLeast } from '../../bench/sync.js';

export const CLOCK = 0;
export const READY = 16;
export const DONE = 32;
export const CONTROL_WORDS = 48;

export function newControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_WORDS * 4);
}

export function stamp(words: Int32Array): number {
  return Atomics.add(words, CLOCK, 1);
}

/** Arrive at counter `index` and wait (without blocking the event loop) until `count` arrived. */
export async function arriveAndWait(words: Int32Array, index: number, count: number, timeoutMs = 60_000): Promise<void> {
  arrive(words, index);
  await waitUntilAtLeast(words, index, count, timeoutMs);
}
