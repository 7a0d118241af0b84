/**
 * Test worker for write batches (test/nr-write-batch.test.ts). Roles:
 * - batcher: `rounds` writeBatch calls of BATCH puts each: key `own` (only
 *   this worker writes it) takes 1, 2, 3, ...; key `shared` takes this
 *   worker's unique values; keys `run0..run{BATCH-1}` are written in order
 *   in every batch with the batch number. Reports every result.
 * - single: the same on `own` and `shared` with single synchronous writes.
 * - reader: reads `run{BATCH-1}` then `run0` until the writers are done;
 *   reports a violation if run0 read after run{BATCH-1} was older (the
 *   batch's ops were not applied in order), or if a key went back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type NrHandle } from '../../src/nr/index.js';
import { HashMap } from '../../src/nr/structures/index.js';

export const BATCH = 8;

export interface BatchWorkerInput {
  handle: NrHandle;
  role: 'batcher' | 'single' | 'reader';
  name: string;
  rounds: number;
  /** Int32Array word 0: writers still running. */
  done: SharedArrayBuffer;
}

export interface BatchWorkerOutput {
  name: string;
  /** Writers: [value written, previous value returned] for every write of `shared`; and of `own`. */
  shared: [number, number | null][];
  own: [number, number | null][];
  reads: number;
  violations: string[];
  digest: string;
}

const input = workerData as BatchWorkerInput;
const r = attach(input.handle, HashMap);
const done = new Int32Array(input.done);
const out: BatchWorkerOutput = { name: input.name, shared: [], own: [], reads: 0, violations: [], digest: '' };
// Values of `shared` unique per worker: worker tag in the high digits.
const tag = input.name === 'b0' ? 1 : input.name === 'b1' ? 2 : 3;
const ownKey = `own-${input.name}`;
const num = (v: unknown): number | null => (v === undefined ? null : (v as number));

if (input.role === 'batcher') {
  let n = 0;
  for (let round = 1; round <= input.rounds; round++) {
    const ops: ['put', string, number][] = [];
    for (let j = 0; j < BATCH; j++) {
      n++;
      ops.push(['put', ownKey, n], ['put', 'shared', tag * 1_000_000 + n], ['put', `run${j}`, tag * 1_000_000 + round]);
    }
    const res = r.writeBatch(ops);
    for (let j = 0; j < BATCH; j++) {
      out.own.push([ops[3 * j]![2], num(res[3 * j])]);
      out.shared.push([ops[3 * j + 1]![2], num(res[3 * j + 1])]);
    }
  }
  Atomics.sub(done, 0, 1);
} else if (input.role === 'single') {
  for (let n = 1; n <= input.rounds * BATCH; n++) {
    out.own.push([n, num(r.writes.put(ownKey, n))]);
    const v = tag * 1_000_000 + n;
    out.shared.push([v, num(r.writes.put('shared', v))]);
  }
  Atomics.sub(done, 0, 1);
} else {
  // Per writer tag, the last batch number seen at run0 and run{BATCH-1}.
  const last = new Map<string, number>();
  const seen = (key: string, v: number | null): void => {
    if (v === null) return;
    const k = `${key}/${Math.floor(v / 1_000_000)}`;
    if ((last.get(k) ?? 0) > v) out.violations.push(`${key} went back from ${last.get(k)} to ${v}`);
    last.set(k, v);
  };
  // At least one pass, however late this worker starts.
  do {
    const hi = num(r.reads.get(`run${BATCH - 1}`));
    const lo = num(r.reads.get('run0'));
    out.reads++;
    // run0 is written before run{BATCH-1} in every batch, and later batches only grow the value: what a batch wrote at the end, its start shows too.
    if (hi !== null && (lo === null || (Math.floor(lo / 1_000_000) === Math.floor(hi / 1_000_000) && lo < hi))) out.violations.push(`run0 = ${lo} read after run${BATCH - 1} = ${hi}`);
    seen('run0', lo);
    seen(`run${BATCH - 1}`, hi);
  } while (Atomics.load(done, 0) > 0 && out.violations.length < 10);
}
r.sync();
out.digest = r.digest();
r.detach();
parentPort!.postMessage(out);
