/**
 * Log positions: wrapping 32-bit counters.
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

/**
 * Raise `arr[index]` to at least `value` (wrapping order); returns the value now stored.
 * `seen`: a value the caller just loaded from `arr[index]` (saves a load; the CAS checks it).
 */
export function fetchMax(arr: Int32Array, index: number, value: number, seen?: number): number {
  let cur = seen ?? Atomics.load(arr, index);
  while (before(cur, value)) {
    const seen = Atomics.compareExchange(arr, index, cur, value);
    if (seen === cur) return value;
    cur = seen;
  }
  return cur;
}
