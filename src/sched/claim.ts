/**
 * The claim op: which tasks a worker gets, decided at apply time in every
 * replica alike (priority, then submission order, among the worker's kinds,
 * subject to the placement policy: fifo, or Min-Worker-Set's warm sets).
 */
import { CLAIM_RESULT_BYTES, CLAIMED_TASK_BYTES, packedBytes, type Packed } from './sizes.js';
import { leaseSet } from './leases.js';
import { readyHead, readyPop, type ReadyQueue } from './ready.js';
import { NOTHING_CLAIMED, startAttempt, type Claimed, type TaskRecord, type Worker } from './records.js';
import type { SchedState } from './state.js';
import { addLoad, begin, deadlineRemove, effects, failDeadline, type Effects } from './transitions.js';

/**
 * MWS: may worker `w`, cold for `kind`, start a task of it whose head is
 * `head`? Only when the kind's warm set is saturated: its demand (ready plus
 * running tasks) exceeds the capacity of its active warm workers. A task that
 * waited `spillAfterMs` may go anywhere (a hung or busy warm set cannot starve it).
 */
function coldAllowed(s: SchedState, w: Worker, kind: string, head: TaskRecord): boolean {
  if (s.policy === 'fifo') return true;
  if (s.clock - head.submittedAt >= s.spillAfterMs) return true;
  const set = s.warmSets.get(kind);
  if (set === undefined) return true;
  let room = 0;
  for (const id of set) {
    const o = s.workers.get(id)!;
    if (o.status === 'active') room += o.capacity;
  }
  return (s.load.get(kind) ?? 0) > room;
}

/** Claim's per-op scratch (applies never interleave): the worker's kinds' ready queues and whether it is warm for each. */
const claimQueues: (ReadyQueue<TaskRecord> | undefined)[] = [];
const claimWarm: boolean[] = [];

/**
 * Claim up to `n` tasks for `worker`, decided here, at apply time: the best
 * (priority, then submission order) among the kinds it handles and the
 * policy allows. Capped by the worker's free capacity; nothing while draining.
 * `maxBytes` bounds the claim's answer as answers.ts writes it (a client
 * runner's answer must fit its request slot): tasks are taken while their
 * encoded size fits, the first one always (a payload is at most
 * maxPayloadBytes, which a client's slot holds). A task that fails its
 * deadline here still counts (conservative, and the same in every replica).
 * Infinity: no bound.
 */
export function claim(s: SchedState, worker: number, n: number, leaseMs: number, now: number, maxBytes = Infinity): Effects<Claimed> {
  begin(s, now);
  const w = s.workers.get(worker);
  if (w === undefined || w.status !== 'active') return effects(NOTHING_CLAIMED);
  let tasks: TaskRecord[] | null = null;
  let attempts: number[] | null = null;
  let room = Math.min(n, w.capacity - w.running);
  if (room <= 0) return effects(NOTHING_CLAIMED);
  let bytes = CLAIM_RESULT_BYTES;
  // The worker's kinds' queues and warmth, looked up once per op, not per task (a claim creates
  // no queue; warmth changes only below).
  const kinds = w.kinds;
  claimQueues.length = 0;
  claimWarm.length = 0;
  for (const kind of kinds) {
    claimQueues.push(s.ready.get(kind));
    claimWarm.push(w.warm.includes(kind));
  }
  while (room > 0) {
    let best: TaskRecord | undefined;
    let bestAt = -1;
    for (let k = 0; k < kinds.length; k++) {
      const q = claimQueues[k];
      if (q === undefined) continue;
      const head = readyHead(q, s.clock);
      if (head === undefined) continue;
      if (best !== undefined && !(head.priority > best.priority || (head.priority === best.priority && head.id < best.id))) continue;
      if (!claimWarm[k] && !coldAllowed(s, w, kinds[k]!, head)) continue;
      best = head;
      bestAt = k;
    }
    if (best === undefined) break;
    if (maxBytes !== Infinity) {
      const b = CLAIMED_TASK_BYTES + packedBytes(best.payload as Packed, maxBytes);
      if (tasks !== null && bytes + b > maxBytes) break;
      bytes += b;
    }
    readyPop(claimQueues[bestAt]!);
    // (begin() already failed every waiting task past its deadline; this guards the invariant.)
    if (best.deadline >= 0 && s.clock > best.deadline) {
      addLoad(s, best.kind, -1);
      failDeadline(s, best);
      continue;
    }
    deadlineRemove(s, best);
    if (!claimWarm[bestAt]) {
      for (let k = 0; k < kinds.length; k++) if (kinds[k] === best.kind) claimWarm[k] = true; // a kind listed twice is one kind
      w.warm.push(best.kind);
      let set = s.warmSets.get(best.kind);
      if (set === undefined) s.warmSets.set(best.kind, (set = []));
      set.push(w.id);
      s.coldStarts++;
      s.coldStartsByKind.set(best.kind, (s.coldStartsByKind.get(best.kind) ?? 0) + 1);
    }
    best.state = 'running';
    best.owner = worker;
    best.attempts++;
    best.leaseUntil = s.clock + leaseMs;
    startAttempt(s, best, worker);
    leaseSet(s.leases, best, best.leaseUntil);
    w.running++;
    room--;
    if (tasks === null) {
      tasks = [];
      attempts = [];
    }
    tasks.push(best);
    attempts!.push(best.attempts);
  }
  claimQueues.length = 0; // no reference to this state's queues outlives the op
  return effects(tasks === null ? NOTHING_CLAIMED : { tasks, attempts: attempts!, leaseUntil: s.clock + leaseMs });
}
