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
 * | 1                | WORK_WAITERS: runners asleep (ringers skip everything when 0) |
 * | 2..15            | SLEEPERS: bit s of word 2 + s/32 set while the runner of wake slot s sleeps |
 * | 16 + 16s         | DONE(s): bumped when a task submitted by submitter s (its replica slot) settles |
 * | 16 + 16s + 1     | DONE_WAITERS(s): 1 while submitter s sleeps on DONE(s) |
 * | 16 + 16s + 2     | RUNNER(s): the runner of wake slot s sleeps on it; a ringer that picked it bumps it |
 *
 * Wake slots 0-63 are the replica slots (a runner over a replica, and the
 * submitter of that slot); slots from 64 on are client runners' (`64 +
 * node × clients per node + client slot`, see client.ts), which have no
 * replica slot. The buffer holds as many as the handle has runners.
 *
 * A work ring wakes exactly one sleeping runner, picked (and unmarked) by a
 * CAS on SLEEPERS, through that runner's own word: a runner's abandoned
 * wait (it woke for a local completion instead) can only absorb notifies
 * meant for that same runner, never another runner's wake-up.
 */
import { waitWhileEqualAsync } from '../nr/index.js';
export const WORK = 0;
export const WORK_WAITERS = 1;
const SLEEPERS = 2;
export const MAX_SUBMITTERS = 64;
/** Most wake slots the SLEEPERS words (2..15) can mark. */
export const MAX_WAKE_SLOTS = 14 * 32;

export function doneIndex(submitter: number): number {
  return 16 + 16 * submitter;
}

function runnerIndex(slot: number): number {
  return 16 + 16 * slot + 2;
}

/** Doorbells for the 64 replica slots and `clientSlots` client runners' wake slots after them. */
export function createBells(clientSlots = 0): SharedArrayBuffer {
  return new SharedArrayBuffer((16 + 16 * (MAX_SUBMITTERS + clientSlots)) * 4);
}

/** The wake slot of client slot `slot` of node `node` (a client runner's). */
export function clientWakeSlot(node: number, clientsPerNode: number, slot: number): number {
  return MAX_SUBMITTERS + node * clientsPerNode + slot;
}


/**
 * Wakes one sleeping runner, if any (a notify is costly: it posts to the
 * waiter's event loop). A runner that wakes and fills its claim rings again,
 * so wake-ups chain through idle runners only while there is work for them.
 */
export function ringWork(bells: Int32Array): void {
  Atomics.add(bells, WORK, 1);
  if (Atomics.load(bells, WORK_WAITERS) === 0) return;
  const words = (((bells.length >> 4) - 1 + 31) >> 5);
  for (let w = 0; w < words; w++) {
    let m = Atomics.load(bells, SLEEPERS + w);
    while (m !== 0) {
      const bit = m & -m;
      const prev = Atomics.compareExchange(bells, SLEEPERS + w, m, m & ~bit);
      if (prev === m) {
        const i = runnerIndex(w * 32 + 31 - Math.clz32(bit));
        Atomics.add(bells, i, 1);
        Atomics.notify(bells, i);
        return;
      }
      m = prev;
    }
  }
}

/**
 * A runner (of wake slot `slot`) sleeps until a work ring picks it, WORK
 * moves past `seen`, `kick` resolves, or `timeoutMs` passes.
 */
export async function sleepForWork(bells: Int32Array, slot: number, seen: number, timeoutMs: number, kick: Promise<void>): Promise<void> {
  const mine = runnerIndex(slot);
  const word = SLEEPERS + (slot >> 5);
  const bit = 1 << (slot & 31);
  // Read our word before marking ourselves asleep: a ring after the mark bumps it, and the wait sees that.
  const mySeen = Atomics.load(bells, mine);
  Atomics.add(bells, WORK_WAITERS, 1);
  Atomics.or(bells, word, bit);
  try {
    if (Atomics.load(bells, WORK) !== seen) return;
    await waitWhileEqualAsync(bells, mine, mySeen, -1, performance.now() + timeoutMs, timeoutMs, kick);
  } finally {
    Atomics.and(bells, word, ~bit);
    Atomics.sub(bells, WORK_WAITERS, 1);
  }
}

export function ringDone(bells: Int32Array, submitter: number): void {
  const i = doneIndex(submitter);
  Atomics.add(bells, i, 1);
  if (Atomics.load(bells, i + 1) > 0) Atomics.notify(bells, i);
}

/**
 * Sleep until `bells[index] !== seen` or `timeoutMs` passes. Counts itself in `bells[waitersIndex]` so ringers notify only
 * when someone sleeps. A timer keeps the thread alive meanwhile (a pending
 * waitAsync alone does not).
 */
export async function sleepOn(bells: Int32Array, index: number, waitersIndex: number, seen: number, timeoutMs: number): Promise<void> {
  await waitWhileEqualAsync(bells, index, seen, waitersIndex, performance.now() + timeoutMs, timeoutMs);
}

/** The clock every op carries: shared by all threads of the process (performance.now() alone differs per thread). */
export function schedNow(): number {
  return TIME_ORIGIN + performance.now();
}
// Read once: the getter is costly, and the origin never changes within a thread.
const TIME_ORIGIN = performance.timeOrigin;
