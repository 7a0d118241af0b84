/**
 * A replica whose slot was reclaimed while its thread was silent (blocked
 * longer than deadAfterMs) must notice at its next heartbeat and leave:
 * - it must stop publishing heartbeats into the slot, which now belongs to
 *   the thread that reclaimed it (otherwise, when that thread dies
 *   undeclared, its slot never looks silent and is never reclaimed);
 * - on parallel logs, a view that lost its slot on one log gives up its
 *   slots on every other log (otherwise it holds them, beating, for ever,
 *   and a joiner that took the slot on one log can take it on no other:
 *   CapacityError "replica slot N is taken", found by the trust chaos run on
 *   4 logs under load).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { attach, createHandle, type NrError } from '../src/nr/index.js';
import { SharedLog } from '../src/nr/log/shared-log.js';
import { SlotState } from '../src/nr/log/slot-state.js';
import { claimSlot, mayBecomeReclaimable } from '../src/nr/log/slots.js';
import { Counter } from '../src/nr/structures/index.js';
import { perLogStructure } from '../src/nr/cnr/per-log.js';
import { HashMapCnr } from '../src/nr/structures/index.js';
import { attachMap, createMapHandle, LOG_COUNTS, systemName, type MapHandle, type MapNode } from './support/log-systems.js';
import { startNode, type NodeWorker } from './support/node-worker.js';

const DEAD_AFTER_MS = 200;
const OPTIONS = { replicas: 2, maxReplicas: 2, deadAfterMs: DEAD_AFTER_MS, fenceAfterMs: 100 };
/** Long enough for several heartbeats (100 ms apart) on a loaded machine. */
const BEATS_MS = 600;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const workers: NodeWorker[] = [];
const locals: MapNode[] = [];
afterEach(async () => {
  for (const l of locals.splice(0)) if (!l.isDetached) l.detach();
  await Promise.all(workers.splice(0).map((w) => w.worker.terminate()));
});

async function isDetached(w: NodeWorker): Promise<boolean> {
  w.worker.postMessage('detached');
  return (await w.next((m) => 'isDetached' in m)).isDetached as boolean;
}

/** The longest a node stays blocked if the test never releases it. */
const BLOCK_AT_MOST_MS = 15_000;

/**
 * A worker node in slot 0 that blocks its thread (no heartbeats) until
 * `release()`, and a replica of this thread in slot 1: the log is full.
 * Returns once the node's heartbeat is late.
 */
async function fullLogWithBlockedNode(handle: MapHandle): Promise<{ blocked: NodeWorker; release: () => void }> {
  const word = new SharedArrayBuffer(4);
  const blocked = await startNode(handle, 'block', BLOCK_AT_MOST_MS, word);
  workers.push(blocked);
  expect(blocked.slot).toBe(0);
  locals.push(attachMap(handle, { slot: 1 }));
  // Until its heartbeat is late, a joiner rightly finds every owner alive (CapacityError at once).
  await sleep(BEATS_MS);
  const release = (): void => {
    Atomics.store(new Int32Array(word), 0, 1);
    Atomics.notify(new Int32Array(word), 0);
  };
  return { blocked, release };
}

describe.each(LOG_COUNTS)('a replica whose slot was reclaimed while it was silent (%i log(s))', (logs) => {
  it(`${systemName(logs)}: it leaves at its next heartbeat, so the slot of the thread that reclaimed it can be reclaimed in turn`, async () => {
    const handle = createMapHandle(logs, OPTIONS);
    const { blocked, release } = await fullLogWithBlockedNode(handle);
    // A joiner finds no free slot, waits for slot 0's owner to be silent for deadAfterMs, and reclaims it.
    const joiner = await startNode(handle, 'serve');
    workers.push(joiner);
    expect(joiner.slot).toBe(0);
    release();
    await blocked.next((m) => m.unblocked === true);
    await sleep(BEATS_MS);
    expect(await isDetached(blocked), 'the reclaimed node has left').toBe(true);
    // The joiner dies undeclared: its slot must become reclaimable (nobody beats for it any more).
    // (Right after the death its heartbeat is fresh: an attach would rightly find every owner alive.)
    await joiner.worker.terminate();
    await sleep(BEATS_MS);
    const next = attachMap(handle);
    locals.push(next);
    expect(next.slot).toBe(0);
  }, 20_000);
});

describe('parallel logs: a view that lost its slot on one log', () => {
  it('gives up its slot on every other log, so a new node can take that slot on all of them', async () => {
    const handle = createMapHandle(4, OPTIONS);
    if (handle.kind !== 'node-replication/cnr') throw new Error('unreachable');
    const { blocked, release } = await fullLogWithBlockedNode(handle);
    // Slot 0 is reclaimed on log 0 only (a joiner that got no further before the view woke up).
    const log0 = attach(handle.logs[0]!, perLogStructure(HashMapCnr.structure, 0, () => undefined), { slot: 0 });
    release();
    await blocked.next((m) => m.unblocked === true);
    await sleep(BEATS_MS);
    expect(await isDetached(blocked), 'the view has left').toBe(true);
    log0.detach();
    // Slot 0 is free on every log now: a new node gets it at once (no wait for silence, no CapacityError).
    const t0 = performance.now();
    let taken: unknown = null;
    try {
      locals.push(attachMap(handle, { slot: 0 }));
    } catch (e) {
      taken = e;
    }
    expect(taken === null ? null : (taken as NrError).code).toBe(null);
    expect(performance.now() - t0, 'attach waited for no silence').toBeLessThan(DEAD_AFTER_MS);
  }, 20_000);
});

describe('a joiner killed between the hand-over and its restore', () => {
  it('leaves its slot Recovering; once its owner is silent for deadAfterMs the slot is reclaimed, also by an attach that wants that very slot', async () => {
    const handle = createHandle(Counter, { replicas: 1, maxReplicas: 1, deadAfterMs: DEAD_AFTER_MS });
    const log = new SharedLog(handle.memory, Counter.fingerprint);
    // A joiner (thread 999999, never to beat again) claimed the slot, was fenced, and a provider handed it a snapshot.
    const joiner = claimSlot(log, 999_999)!;
    const fenced = log.move(joiner.slot, joiner.word, SlotState.Fenced, 'owner');
    expect(log.move(joiner.slot, fenced, SlotState.Recovering, 'provider')).not.toBe(-1);
    // Its heartbeat is fresh: it may be alive, restoring.
    expect(claimSlot(log, 1, 0)).toBe(null);
    await sleep(BEATS_MS);
    expect(mayBecomeReclaimable(log, 0), 'a silent Recovering owner may be dead').toBe(true);
    const claim = claimSlot(log, 1, 0);
    expect(claim?.slot).toBe(0);
    expect(claim?.needsTransfer).toBe(true);
    expect(log.ownerOf(0)).toBe(1);
  });
});
