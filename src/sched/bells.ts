/**
 * Doorbells: the scheduler's small SharedArrayBuffer of wake-up words, so
 * that idle runners and waiting submitters sleep (Atomics.waitAsync) instead
 * of polling, and whoever changes the replicated state rings them after its
 * op has been applied (the log's completed tail covers it, so a woken
 * thread's next read sees the change).
 *
 * Layout (Int32 words; each group alone on its 64-byte line):
 *
 * | words            | contents |
 * |------------------|----------|
 * | 0                | WORK: bumped when tasks become claimable (submit, retry, freed capacity) |
 * | 1                | WORK_WAITERS: runners asleep on WORK (notify only when > 0) |
 * | 16 + 16s         | DONE(s): bumped when a task submitted by submitter s (its replica slot) settles |
 * | 16 + 16s + 1     | DONE_WAITERS(s): 1 while submitter s sleeps on DONE(s) |
 */
export const WORK = 0;
export const WORK_WAITERS = 1;
export const MAX_SUBMITTERS = 64;

export function doneIndex(submitter: number): number {
  return 16 + 16 * submitter;
}

export function createBells(): SharedArrayBuffer {
  return new SharedArrayBuffer((16 + 16 * MAX_SUBMITTERS) * 4);
}

/**
 * Wakes one sleeping runner (a notify is costly: it posts to the waiter's
 * event loop). A runner that wakes and fills its claim rings again, so
 * wake-ups chain through idle runners only while there is work for them.
 */
export function ringWork(bells: Int32Array): void {
  Atomics.add(bells, WORK, 1);
  if (Atomics.load(bells, WORK_WAITERS) > 0) Atomics.notify(bells, WORK, 1);
}

export function ringDone(bells: Int32Array, submitter: number): void {
  const i = doneIndex(submitter);
  Atomics.add(bells, i, 1);
  if (Atomics.load(bells, i + 1) > 0) Atomics.notify(bells, i);
}

/**
 * Sleep until `bells[index] !== seen`, `kick` resolves, or `timeoutMs`
 * passes. Counts itself in `bells[waitersIndex]` so ringers notify only
 * when someone sleeps. A timer keeps the thread alive meanwhile (a pending
 * waitAsync alone does not).
 */
export async function sleepOn(bells: Int32Array, index: number, waitersIndex: number, seen: number, timeoutMs: number, kick?: Promise<void>): Promise<void> {
  Atomics.add(bells, waitersIndex, 1);
  try {
    const r = Atomics.waitAsync(bells, index, seen, timeoutMs);
    if (!r.async) return;
    let timer: NodeJS.Timeout | undefined;
    const keepAlive = new Promise<void>((res) => (timer = setTimeout(res, timeoutMs + 5)));
    await Promise.race(kick ? [r.value, keepAlive, kick] : [r.value, keepAlive]);
    clearTimeout(timer);
  } finally {
    Atomics.sub(bells, waitersIndex, 1);
  }
}

/** The clock every op carries: shared by all threads of the process (performance.now() alone differs per thread). */
export function schedNow(): number {
  return performance.timeOrigin + performance.now();
}
