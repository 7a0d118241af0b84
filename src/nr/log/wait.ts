/**
 * The one bounded spin-then-wait loop of the runtime, and its async twin.
 *
 * Nothing in node-replication spins without bound: a waiter spins a few µs
 * (the other side is usually running), then sleeps on the word with
 * Atomics.wait, each sleep bounded (MAX_SLEEP_MS) so that a lost notify can
 * delay a waiter but never hang it, and every wait has a deadline.
 */
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
 * What `Atomics.waitAsync` returns, spelled out so that the ES2024 lib type
 * stays out of the published declarations (a consumer may compile with lib ES2022).
 */
export type WaitAsyncResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };

/**
 * Wait until `arr[index] !== value`, spinning briefly and then sleeping on the
 * word. `waiters` (an index in the same array, on its own line; -1 for none) counts
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
  waiters: number | -1,
  deadline = Infinity,
  maxSleepMs = MAX_SLEEP_MS,
): boolean {
  for (let i = 0; i < SPIN_ROUNDS; i++) {
    if (Atomics.load(arr, index) !== value) return true;
  }
  for (;;) {
    if (Atomics.load(arr, index) !== value) return true;
    const now = performance.now();
    if (now >= deadline) return false;
    if (waiters >= 0) Atomics.add(arr, waiters, 1);
    Atomics.wait(arr, index, value, Math.min(maxSleepMs, deadline - now));
    if (waiters >= 0) Atomics.sub(arr, waiters, 1);
  }
}

/** Wake sleepers of `arr[index]` if the waiter count says there are any. */
export function notifyIfWaiting(arr: Int32Array, index: number, waiters: number): void {
  if (Atomics.load(arr, waiters) !== 0) Atomics.notify(arr, index);
}

/**
 * The async form, for event-loop threads: resolves true once
 * `arr[index] !== value`, false at `deadline` (performance.now() ms). Each
 * sleep is bounded by `maxSleepMs`, and a timer holds the thread alive
 * while it waits (Atomics.waitAsync alone does not). `waiters` as above.
 * `wake`, if given, ends the wait early when it settles (false then).
 */
export async function waitWhileEqualAsync(
  arr: Int32Array,
  index: number,
  value: number,
  waiters: number | -1,
  deadline: number,
  maxSleepMs = 50,
  wake?: Promise<unknown>,
): Promise<boolean> {
  let woken = false;
  void wake?.then(() => (woken = true), () => (woken = true));
  for (;;) {
    if (woken) return Atomics.load(arr, index) !== value;
    if (Atomics.load(arr, index) !== value) return true;
    const now = performance.now();
    if (now >= deadline) return false;
    const ms = Math.min(maxSleepMs, deadline - now);
    if (waiters >= 0) Atomics.add(arr, waiters, 1);
    try {
      const r = Atomics.waitAsync(arr, index, value, ms);
      if (r.async) {
        let timer: NodeJS.Timeout | undefined;
        const keepAlive = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms + 1)));
        await Promise.race(wake ? [r.value, keepAlive, wake] : [r.value, keepAlive]);
        clearTimeout(timer);
      }
    } finally {
      if (waiters >= 0) Atomics.sub(arr, waiters, 1);
    }
  }
}
