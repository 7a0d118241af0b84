/**
 * The scheduler as an NR structure: `state.ts`'s applies as write ops, its
 * queries as read ops. Built per configuration (policy, spill bound), which
 * `create()` bakes into the initial state; every thread of one scheduler
 * builds it from the same handle, so every replica starts identical.
 */
import { deserialize, serialize } from 'node:v8';
import { defineStructure } from '../nr/index.js';
import { IdTable } from './idtable.js';
import { answerCodecs } from './answers.js';
import { claimCodec, finishCodec, releaseCodec, renewCodec, submitCodec } from './codecs.js';
import * as st from './state.js';

export function schedStructure(kinds: readonly string[], options: st.StateOptions = {}) {
  return defineStructure({
    name: 'sched',
    version: 1,
    create: () => st.createState(options),
    reads: {
      settledSince: (s: st.SchedState, submitter: number, from: number) => st.settledSince(s, submitter, from),
      settledTasksSince: (s: st.SchedState, submitter: number, from: number) => st.settledTasksSince(s, submitter, from),
      task: (s: st.SchedState, id: number) => st.taskInfo(s, id),
      worker: (s: st.SchedState, id: number) => st.workerInfo(s, id),
      workerRoom: (s: st.SchedState, id: number) => st.workerRoom(s, id),
      summary: (s: st.SchedState) => st.summary(s),
      nextDue: (s: st.SchedState) => st.nextDue(s),
      /** Every task's record (tests and audits). */
      tasks: (s: st.SchedState) => [...s.tasks.keys()].sort((a, b) => a - b).map((id) => st.taskInfo(s, id)!),
    },
    writes: {
      submit: (s: st.SchedState, submitter: number, specs: st.TaskSpec[], now: number) => st.submit(s, submitter, specs, now),
      join: (s: st.SchedState, capacity: number, kinds: string[], now: number) => st.join(s, capacity, kinds, now),
      setCapacity: (s: st.SchedState, worker: number, capacity: number, now: number) => st.setCapacity(s, worker, capacity, now),
      drain: (s: st.SchedState, worker: number, now: number) => st.drain(s, worker, now),
      leave: (s: st.SchedState, worker: number, now: number) => st.leave(s, worker, now),
      claim: (s: st.SchedState, worker: number, n: number, leaseMs: number, now: number, maxBytes?: number) => st.claim(s, worker, n, leaseMs, now, maxBytes),
      finish: (s: st.SchedState, worker: number, items: st.Completion[], now: number) => st.finish(s, worker, items, now),
      renew: (s: st.SchedState, worker: number, items: { id: number; attempt: number }[], leaseMs: number, now: number) =>
        st.renew(s, worker, items, leaseMs, now),
      cancel: (s: st.SchedState, ids: number[], now: number) => st.cancel(s, ids, now),
      tick: (s: st.SchedState, now: number) => st.tick(s, now),
      release: (s: st.SchedState, submitter: number, upto: number, retain: boolean, now: number) => st.release(s, submitter, upto, retain, now),
    },
    codecs: { submit: submitCodec(kinds), claim: claimCodec, finish: finishCodec, renew: renewCodec, release: releaseCodec },
    // How a node answers its client runners (client.ts): binary, not v8.
    ...answerCodecs(kinds),
    digest: (s) => st.digest(s),
    // The task table is a class (IdTable): ship its plain data, in the same serialisation as the rest so shared task objects stay shared.
    snapshot: (s) => serialize({ ...s, tasks: s.tasks.raw() }),
    restore: (bytes) => {
      const o = deserialize(bytes) as Omit<st.SchedState, 'tasks'> & { tasks: ReturnType<IdTable<st.TaskRecord>['raw']> };
      return { ...o, tasks: IdTable.fromRaw(o.tasks) } as st.SchedState;
    },
  });
}

export type SchedStructure = ReturnType<typeof schedStructure>;
