/**
 * A fixed multi-kind trace, run on the state machine alone (one thread, time
 * injected), to compare placement policies by cold starts: the test checks
 * that Min-Worker-Set keeps each kind on fewer workers than FIFO, and the
 * benchmark reports the counts. Deterministic: a seeded LCG, fixed order.
 */
import * as st from './state.js';

export interface TraceResult {
  policy: st.Policy;
  tasks: number;
  done: number;
  coldStarts: number;
  /** Workers that ever ran each kind. */
  workersPerKind: Record<string, number>;
  meanWorkersPerKind: number;
}

/** Kinds and the mean number of tasks each submits per 1 ms step. */
const LOAD: ReadonlyArray<readonly [string, number]> = [
  ['resize', 1.2],
  ['thumb', 0.6],
  ['ocr', 0.3],
  ['email', 0.3],
  ['pdf', 0.15],
  ['zip', 0.1],
];

export function coldStartTrace(policy: st.Policy, steps = 400, workers = 6, capacity = 2, taskMs = 3): TraceResult {
  const s = st.createState({ policy, spillAfterMs: 25 });
  const kinds = LOAD.map(([k]) => k);
  const ids: number[] = [];
  for (let i = 0; i < workers; i++) ids.push(st.join(s, capacity, kinds, 0).value);
  let seed = 12345;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  // Running tasks with their finish time, per worker.
  const running: { worker: number; id: number; attempt: number; at: number }[] = [];
  let submitted = 0;
  for (let t = 0; t < steps || running.length > 0 || s.counts.done + s.counts.failed < submitted; t++) {
    if (t > steps * 4) break; // bound; the test checks every task finished
    for (const [kind, rate] of LOAD) {
      if (t >= steps) break;
      const n = Math.floor(rate) + (rand() < rate % 1 ? 1 : 0);
      if (n > 0) {
        st.submit(s, 0, Array.from({ length: n }, () => ({ kind, payload: null })), t);
        submitted += n;
      }
    }
    const finishing = running.filter((r) => r.at <= t);
    for (const r of finishing) st.finish(s, r.worker, [{ id: r.id, attempt: r.attempt, ok: true }], t);
    running.splice(0, running.length, ...running.filter((r) => r.at > t));
    // Workers pull in a rotating order, as independent runners would.
    for (let i = 0; i < workers; i++) {
      const w = ids[(i + t) % workers]!;
      for (const c of st.claimedTasks(st.claim(s, w, capacity, 1000, t).value)) running.push({ worker: w, id: c.id, attempt: c.attempt, at: t + taskMs });
    }
  }
  const sum = st.summary(s);
  const per = Object.values(sum.workersPerKind);
  return {
    policy,
    tasks: submitted,
    done: s.counts.done,
    coldStarts: s.coldStarts,
    workersPerKind: sum.workersPerKind,
    meanWorkersPerKind: per.reduce((a, b) => a + b, 0) / Math.max(1, per.length),
  };
}
