/**
 * The few Atomics primitives the runtime is built on.
 *
 * Positions in the log are 32-bit counters that wrap modulo 2^32 (serial
 * number arithmetic, as in RFC 1982): Int32 atomics are the fast ones in V8,
 * and the ring length is a power of two, so wrapping is seamless as long as
 * two live positions are never 2^31 apart (the ring is far smaller).
 */

/** Signed distance from `from` to `to`, modulo 2^32. */
export function distance(from: number, to: number): number {
  return (to - from) | 0;
}

/** `a` comes strictly before `b` in wrapping order. */
export function before(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** Raise `arr[index]` to at least `value` (wrapping order); returns the value now stored. */
export function fetchMax(arr: Int32Array, index: number, value: number): number {
  let cur = Atomics.load(arr, index);
  while (before(cur, value)) {
    const seen = Atomics.compareExchange(arr, index, cur, value);
    if (seen === cur) return value;
    cur = seen;
  }
  return cur;
}

/**
 * How long to spin before sleeping: 256 atomic loads, a few µs. A spin
 * round trip costs ~0.2 µs when the other side is running; a futex sleep
 * and wake costs ~44 µs. With more threads than cores the other side is
 * often descheduled, so the spin stays short and then yields the core.
 */
export const SPIN_ROUNDS = 256;

/** Longest single sleep of any waiter; every wait re-checks its condition after it. */
export const MAX_SLEEP_MS = 2;

/**
 * Wait until `arr[index] !== value`, spinning briefly and then sleeping on the
 * word. `waiters` (an index in the same array, on its own line) counts
 * sleepers so that the writer side only pays for `Atomics.notify` when someone
 * sleeps. Returns false when `deadline` (ms, performance.now()) passed first.
 *
 * The sleep is also bounded (MAX_SLEEP_MS), so a lost or missing notify can
 * delay a waiter but never hang it.
 */
export function waitWhileEqual(
  arr: Int32Array,
  index: number,
  value: number,
  waiters: number,
  deadline = Infinity,
): boolean {
  for (let i = 0; i < SPIN_ROUNDS; i++) {
    if (Atomics.load(arr, index) !== value) return true;
  }
  for (;;) {
    if (Atomics.load(arr, index) !== value) return true;
    const now = performance.now();
    if (now >= deadline) return false;
    Atomics.add(arr, waiters, 1);
    Atomics.wait(arr, index, value, Math.min(MAX_SLEEP_MS, deadline - now));
    Atomics.sub(arr, waiters, 1);
  }
}

/** Wake sleepers of `arr[index]` if the waiter count says there are any. */
export function notifyIfWaiting(arr: Int32Array, index: number, waiters: number): void {
  if (Atomics.load(arr, waiters) !== 0) Atomics.notify(arr, index);
}
