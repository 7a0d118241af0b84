/**
 * Shrinks a partition that has no linearization into a small explanation:
 * the culprit (the first answer that no linearization explains) and a
 * sub-history around it.
 *
 * 1. Linearizability is prefix-closed, so the shortest failing prefix is
 *    found by search over the answered ops in response order; prefix k
 *    holds the first k answers, and ops called by then but answered later
 *    become pending. The k-th answer is the culprit. The failed search's
 *    frontier says which prefixes are linearizable already; from there the
 *    search gallops forward (linearizable prefixes are cheap to check, a
 *    failing one costs a whole exhaustive search) and then bisects.
 * 2. Then ops are removed (in halving chunks, down to single ops, until no
 *    removal works) while the rest still has no linearization and has one
 *    once the culprit's answer is dropped (the culprit made pending). The
 *    second condition keeps the witness about the culprit: removing a
 *    writer must not make some other read the reason. If the culprit's
 *    answer was possible at some earlier moment (a stale read: called early
 *    enough, it would be fine), that must stay true too, so the witness keeps
 *    the write it saw and the one that overwrote it, rather than turning into
 *    "nothing wrote this value".
 * Every search here runs against one step budget; when it runs out the
 * witness found so far is returned, marked not minimal.
 */
import { search, type Partition } from './search.js';
import type { Operation } from './types.js';

export interface Witness<I, O> {
  readonly culprit: Operation<I, O> | undefined;
  readonly witness: readonly Operation<I, O>[];
  readonly minimal: boolean;
  readonly steps: number;
}

const asPending = <I, O>(op: Operation<I, O>): Operation<I, O> =>
  op.client === undefined ? { input: op.input, call: op.call } : { client: op.client, input: op.input, call: op.call };

export function findWitness<S, I, O>(
  partition: Partition<S, I, O>,
  ops: readonly Operation<I, O>[],
  budget: number,
  /** From the search that failed: the history cut at this time is linearizable. */
  frontier: number,
): Witness<I, O> {
  let steps = 0;
  /** 'fail' / 'ok', or null once the budget is spent. Each search's setup (sorting, linking) is charged as steps. */
  const run = (h: readonly Operation<I, O>[]): 'ok' | 'fail' | null => {
    steps += h.length;
    if (steps > budget) return null;
    const r = search(partition, h, budget - steps);
    steps += r.steps;
    return r.outcome === 'limit' ? null : r.outcome;
  };
  const giveUp = (): Witness<I, O> => ({ culprit: undefined, witness: ops, minimal: false, steps });

  const answered = ops
    .map((op, index) => ({ op, index }))
    .filter((x) => x.op.ret !== undefined)
    .sort((a, b) => a.op.ret! - b.op.ret! || a.index - b.index);
  const prefix = (k: number): Operation<I, O>[] => {
    const cut = answered[k - 1]!.op.ret!;
    const done = new Set(answered.slice(0, k).map((x) => x.op));
    const out: Operation<I, O>[] = [];
    for (const op of ops) {
      if (done.has(op)) out.push(op);
      else if (op.call <= cut) out.push(op.ret === undefined ? op : asPending(op));
    }
    return out;
  };

  // Prefixes up to `lo - 1` are linearizable; prefix `hi` is not.
  let lo = 1;
  while (lo < answered.length && answered[lo - 1]!.op.ret! < frontier) lo++;
  let hi = answered.length;
  for (let stride = 1; lo < hi; stride *= 2) {
    const probe = Math.min(hi, lo + stride - 1);
    if (probe === hi) break;
    const r = run(prefix(probe));
    if (r === null) return giveUp();
    if (r === 'fail') {
      hi = probe;
      break;
    }
    lo = probe + 1;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const r = run(prefix(mid));
    if (r === null) return giveUp();
    if (r === 'fail') hi = mid;
    else lo = mid + 1;
  }
  const culprit = answered[lo - 1]!.op;
  let witness = prefix(lo);

  // Accept a removal only if the culprit's answer is still what breaks it.
  const pendingCulprit = (h: Operation<I, O>[]) => h.map((op) => (op === culprit ? asPending(op) : op));
  const earlyCulprit = (h: Operation<I, O>[]) => h.map((op) => (op === culprit ? { ...op, call: -Infinity } : op));
  const early = run(earlyCulprit(witness));
  if (early === null) return { culprit, witness, minimal: false, steps };
  const keepTiming = early === 'ok';
  const stillExplains = (h: Operation<I, O>[]): boolean | null => {
    const wanted: [() => Operation<I, O>[], 'ok' | 'fail'][] = [
      [() => h, 'fail'],
      [() => pendingCulprit(h), 'ok'],
    ];
    if (keepTiming) wanted.push([() => earlyCulprit(h), 'ok']);
    for (const [variant, expected] of wanted) {
      const r = run(variant());
      if (r === null) return null;
      if (r !== expected) return false;
    }
    return true;
  };
  let chunk = Math.max(1, Math.ceil((witness.length - 1) / 2));
  for (;;) {
    let removed = false;
    for (let start = 0; start < witness.length; ) {
      const drop = new Set(witness.slice(start, start + chunk).filter((op) => op !== culprit));
      if (drop.size === 0) {
        start += chunk;
        continue;
      }
      const candidate = witness.filter((op) => !drop.has(op));
      const ok = stillExplains(candidate);
      if (ok === null) return { culprit, witness, minimal: false, steps };
      if (ok) {
        witness = candidate;
        removed = true;
      } else start += chunk;
    }
    if (chunk === 1 && !removed) return { culprit, witness, minimal: true, steps };
    chunk = Math.max(1, chunk >>> 1);
  }
}
