/**
 * A `Scheduler`'s ops and reads other than submit and await: worker
 * management (setCapacity, drain, evict, cancel, tick: any thread), a worker
 * driven by hand (join, claim, complete, fail, renew: what the Runner does
 * for you), and the reads of the state through this view. Each op checks its
 * arguments at the call (nothing is written on bad input) and turns the
 * apply's outcome code into a typed error.
 */
import { unpackValue, packedBytes, packValue, type Packed } from './codecs.js';
import { schedNow } from './bells.js';
import {
  asSchedError,
  BadArgumentError,
  describeValue,
  outcomeError,
  PayloadTooLargeError,
  UncloneablePayloadError,
  UnknownKindError,
  UnknownWorkerError,
  SchedulerClosedError,
  WorkerGoneError,
  type OutcomeCode,
  type SchedError,
} from './errors.js';
import type { Scheduler } from './scheduler.js';
import type { ClaimedTask, Completion, Effects, SchedSummary, Task, Worker } from './state.js';
import { attemptNo, capacity as checkCapacity, finiteAtLeast, I32_MAX, integerIn, taskId, workerId as checkWorker } from './validate.js';

/** Most ids one cancel op carries. */
const CANCEL_BATCH = 4096;

function code(view: Scheduler, eff: Effects<OutcomeCode>, worker: number): void {
  view.effects(eff);
  const e = outcomeError(eff.value, -1, worker);
  if (e === null) return;
  if (e.code === 'SCHED_NOT_OWNER') throw new UnknownWorkerError(worker);
  // The state keeps a worker that left (status 'gone'): say so, rather than "no worker".
  if (e.code === 'SCHED_UNKNOWN_WORKER' && view.replica.reads.worker(worker)?.status === 'gone') throw new WorkerGoneError(worker);
  throw e;
}

// ----- worker management (any thread) -----

export async function setCapacity(view: Scheduler, worker: number, capacity: number): Promise<void> {
  checkWorker(worker);
  checkCapacity(capacity);
  code(view, await view.replica.writeAsync('setCapacity', worker, capacity, schedNow()).catch(asSchedError), worker);
}

export async function drain(view: Scheduler, worker: number): Promise<void> {
  checkWorker(worker);
  code(view, await view.replica.writeAsync('drain', worker, schedNow()).catch(asSchedError), worker);
}

export async function evict(view: Scheduler, worker: number): Promise<void> {
  checkWorker(worker);
  code(view, await view.replica.writeAsync('leave', worker, schedNow()).catch(asSchedError), worker);
}

export async function cancel(view: Scheduler, ids: readonly number[]): Promise<(SchedError | null)[]> {
  if (!Array.isArray(ids)) throw new BadArgumentError('cancel takes an array of task ids');
  const all = Array.from(ids, taskId);
  const out: (SchedError | null)[] = [];
  for (let i = 0; i < all.length || i === 0; i += CANCEL_BATCH) {
    const chunk = all.slice(i, i + CANCEL_BATCH);
    const eff = await view.replica.writeAsync('cancel', chunk, schedNow()).catch(asSchedError);
    view.effects(eff);
    eff.value.forEach((c, j) => out.push(outcomeError(c, chunk[j]!, -1)));
  }
  return out;
}

export async function tick(view: Scheduler): Promise<void> {
  view.effects(await view.replica.writeAsync('tick', schedNow()).catch(asSchedError));
}

// ----- a worker driven by hand -----

export async function join(view: Scheduler, viewKinds: ReadonlySet<string>, capacity: number, kinds: readonly string[]): Promise<number> {
  checkCapacity(capacity);
  if (!Array.isArray(kinds)) throw new BadArgumentError('kinds must be an array');
  for (const k of kinds) if (!viewKinds.has(k)) throw new UnknownKindError(k);
  const eff = await view.replica.writeAsync('join', capacity, [...kinds], schedNow()).catch(asSchedError);
  view.effects(eff);
  return eff.value;
}

export async function claim(view: Scheduler, worker: number, n: number, leaseMs: number): Promise<ClaimedTask[]> {
  checkWorker(worker);
  integerIn(n, 1, I32_MAX, 'n');
  finiteAtLeast(leaseMs, 0, 'leaseMs', true);
  const eff = await view.replica.writeAsync('claim', worker, n, leaseMs, schedNow()).catch(asSchedError);
  view.effects(eff);
  const { tasks, attempts, leaseUntil } = eff.value;
  return tasks.map((t, i) => ({ id: t.id, attempt: attempts[i]!, kind: t.kind, payload: unpackValue(t.payload), leaseUntil }));
}

async function finishOne(view: Scheduler, worker: number, c: Completion): Promise<void> {
  const eff = await view.replica.writeAsync('finish', worker, [c], schedNow()).catch(asSchedError);
  view.effects(eff);
  const e = outcomeError(eff.value[0]!, c.id, worker);
  if (e) throw e;
}

export async function complete(view: Scheduler, worker: number, id: number, attempt: number, result: unknown): Promise<void> {
  checkHeld(worker, id, attempt);
  let packed: Packed;
  try {
    packed = packValue(result);
  } catch (e) {
    throw new UncloneablePayloadError(e, 'task result');
  }
  const bytes = packedBytes(packed, view.maxPayloadBytes);
  if (bytes > view.maxPayloadBytes) throw new PayloadTooLargeError(bytes, view.maxPayloadBytes, 'task result');
  return finishOne(view, worker, { id, attempt, ok: true, result: packed });
}

export async function fail(view: Scheduler, worker: number, id: number, attempt: number, error: unknown): Promise<void> {
  checkHeld(worker, id, attempt);
  return finishOne(view, worker, { id, attempt, ok: false, error: describeValue(error) });
}

export async function renew(view: Scheduler, worker: number, id: number, attempt: number, leaseMs: number): Promise<void> {
  checkHeld(worker, id, attempt);
  finiteAtLeast(leaseMs, 0, 'leaseMs', true);
  const eff = await view.replica.writeAsync('renew', worker, [{ id, attempt }], leaseMs, schedNow()).catch(asSchedError);
  view.effects(eff);
  const e = outcomeError(eff.value[0]!, id, worker);
  if (e) throw e;
}

function checkHeld(worker: number, id: number, attempt: number): void {
  checkWorker(worker);
  taskId(id);
  attemptNo(attempt);
}

// ----- reads: they throw what the async methods reject with (SchedulerClosedError once closed, a SchedError always) -----

export function summary(view: Scheduler): SchedSummary {
  checkOpen(view);
  try {
    return view.replica.reads.summary();
  } catch (e) {
    return asSchedError(e);
  }
}

export function task(view: Scheduler, id: number): Task | undefined {
  checkOpen(view);
  taskId(id); // as in awaitTask and cancel: a bad id is a BadArgumentError, not 'no such task'
  let t: Task | undefined;
  try {
    t = view.replica.reads.task(id);
  } catch (e) {
    return asSchedError(e);
  }
  return t === undefined ? undefined : decodeTask(t);
}

export function worker(view: Scheduler, id: number): Worker | undefined {
  checkOpen(view);
  checkWorker(id);
  try {
    return view.replica.reads.worker(id);
  } catch (e) {
    return asSchedError(e);
  }
}

export function tasks(view: Scheduler): Task[] {
  checkOpen(view);
  let all: Task[];
  try {
    all = view.replica.reads.tasks();
  } catch (e) {
    return asSchedError(e);
  }
  return all.map(decodeTask);
}

function checkOpen(view: Scheduler): void {
  if (view.isClosed) throw new SchedulerClosedError();
}

function decodeTask(t: Task): Task {
  t.payload = unpackValue(t.payload);
  t.result = unpackValue(t.result);
  return t;
}
