/**
 * The Wing & Gong search with Lowe's memoisation, over one partition.
 *
 * Every answered op has a call entry and a return entry in one
 * doubly-linked list ordered by time. Any call that comes before the first
 * return in the list may take effect next; applying it removes its entries
 * (dancing links, so backtracking is O(1)). Reaching a return entry means
 * that op should already have taken effect: backtrack. A configuration (set
 * of linearized ops, model state) is expanded at most once.
 *
 * Pending ops are kept out of the list: they never force a backtrack, and
 * the search succeeds once every answered op is linearized (a pending op not
 * yet linearized then took effect after everything, or never). At each
 * configuration they are tried after the answered candidates, so a pending
 * op whose effect nobody saw costs about nothing: the search reaches the end
 * along answered ops first and only backtracks into a pending op where its
 * effect is needed.
 */
import type { Model, Operation, Outcome, StepResult } from './types.js';

export type SearchOutcome = 'ok' | 'fail' | 'limit';

export interface SearchResult {
  readonly outcome: SearchOutcome;
  readonly steps: number;
  /**
   * The latest time t such that some reached configuration had linearized
   * every op answered before t: the history cut at t is linearizable.
   */
  readonly frontier: number;
}

/** An answered op with more calls than this inside its interval gets its own memo bit. */
const LONG_SPAN = 128;

/** What the search backtracks to: every state the model could be in, and one hash for the set. */
interface Config<S> {
  readonly states: readonly S[];
  readonly hash: string;
}

const isOutcomeList = <S, O>(r: StepResult<S, O>): r is readonly Outcome<S, O>[] => Array.isArray(r);

/** A state's hash as a string that keeps numbers and strings apart. */
export function hashKey<S>(model: Model<S, unknown, unknown>, state: S): string {
  const h = model.hash(state);
  return typeof h === 'number' ? `#${h}` : `'${h}`;
}

export function initialConfig<S>(model: Model<S, unknown, unknown>, state: S): Config<S> {
  return { states: [state], hash: hashKey(model, state) };
}

/** One partition to check: the model, the partition's initial state, and how outputs compare. */
export interface Partition<S, I, O> {
  readonly model: Model<S, I, O>;
  readonly init: S;
  readonly equal: (model: O, recorded: O) => boolean;
}

/** Searches for a linearization of `ops` (in any order) from the partition's initial state. */
export function search<S, I, O>({ model, init, equal }: Partition<S, I, O>, ops: readonly Operation<I, O>[], budget: number): SearchResult {
  // Ops are numbered in call order: op i's call entry is i, its return entry n + i.
  const sorted = ops
    .map((op, index) => ({ op, index }))
    .sort((a, b) => a.op.call - b.op.call || a.index - b.index)
    .map((x) => x.op);
  const n = sorted.length;
  const HEAD = 2 * n;
  const pending = new Uint8Array(n);
  const pendingIndex = new Int32Array(n).fill(-1);
  const pendingOps: number[] = []; // in call order
  let remaining = 0; // answered ops not yet linearized
  for (let i = 0; i < n; i++) {
    if (sorted[i]!.ret === undefined) {
      pending[i] = 1;
      pendingIndex[i] = pendingOps.length;
      pendingOps.push(i);
    } else remaining++;
  }
  const pendingCount = pendingOps.length;
  if (remaining === 0) return { outcome: 'ok', steps: 0, frontier: Infinity };

  // One list of the answered ops' entries in time order; at equal times calls
  // come first, so touching intervals overlap.
  const entries: number[] = [];
  for (let i = 0; i < n; i++) if (!pending[i]) entries.push(i, n + i);
  const time = (e: number): number => (e < n ? sorted[e]!.call : sorted[e - n]!.ret!);
  entries.sort((a, b) => time(a) - time(b) || (a < n ? 0 : 1) - (b < n ? 0 : 1) || a - b);
  const next = new Int32Array(2 * n + 1).fill(-1);
  const prev = new Int32Array(2 * n + 1).fill(-1);
  let last = HEAD;
  for (const e of entries) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  const unlink = (x: number): void => {
    next[prev[x]!] = next[x]!;
    if (next[x] !== -1) prev[next[x]!] = prev[x]!;
  };
  const relink = (x: number): void => {
    if (next[x] !== -1) prev[next[x]!] = x;
    next[prev[x]!] = x;
  };
  const lift = (i: number): void => {
    if (pending[i]) return;
    unlink(i);
    unlink(n + i);
  };
  // Exact inverse of lift; valid because lifts are undone in LIFO order.
  const unlift = (i: number): void => {
    if (pending[i]) return;
    relink(n + i);
    relink(i);
  };
  /** The time of the earliest outstanding return: a pending op called after it cannot go next. */
  const firstReturnTime = (): number => {
    let x = next[HEAD]!;
    while (x !== -1 && x < n) x = next[x]!;
    return x === -1 ? Infinity : time(x);
  };

  // The memo key encodes the linearized set exactly and compactly. Let m be
  // the earliest-called short op not yet linearized: every short op before m
  // is linearized, and any op j > m can only have been linearized while m's
  // return was still ahead, so call(j) <= ret(m). So m, the bits of ops in
  // (m, windowEnd[m]) and one bit per long op (pending, or answered after
  // more than LONG_SPAN later calls) determine the set. The window spans the
  // concurrency around m, never the whole history, even when one op was
  // called early and answered late, or never.
  const callTimes = sorted.map((op) => op.call);
  const windowEnd = new Int32Array(n);
  const longIndex = new Int32Array(n).fill(-1);
  let longCount = 0;
  for (let i = 0; i < n; i++) {
    if (!pending[i]) windowEnd[i] = upperBound(callTimes, sorted[i]!.ret!);
    if (pending[i] || windowEnd[i]! - i > LONG_SPAN) longIndex[i] = longCount++;
  }
  const linearized = new Uint8Array(n);
  const longBits = new Uint8Array(longCount);
  const chars: number[] = [];
  const packBits = (bits: ArrayLike<number>, from: number, to: number): string => {
    chars.length = 0;
    let word = 0;
    let bit = 0;
    for (let j = from; j < to; j++) {
      if (bits[j]) word |= 1 << bit;
      if (++bit === 16) {
        chars.push(word);
        word = 0;
        bit = 0;
      }
    }
    if (bit > 0) chars.push(word);
    let packed = '';
    // Chunked so a very wide window cannot exceed the engine's argument limit.
    for (let k = 0; k < chars.length; k += 4096) packed += String.fromCharCode(...chars.slice(k, k + 4096));
    return packed;
  };
  const memoKey = (hash: string): string => {
    // The list holds answered ops only; skip long ops' entries to the first short call.
    let m = next[HEAD]!;
    while (m !== -1 && (m >= n || longIndex[m] !== -1)) m = next[m]!;
    const window = m === -1 ? '' : packBits(linearized, m + 1, windowEnd[m]!);
    return longCount === 0 ? `${m},${window},${hash}` : `${m},${window},${packBits(longBits, 0, longCount)},${hash}`;
  };
  const mark = (i: number, v: 0 | 1): void => {
    linearized[i] = v;
    if (longIndex[i] !== -1) longBits[longIndex[i]!] = v;
    if (!pending[i]) remaining += v ? -1 : 1;
  };

  const advance = (config: Config<S>, i: number): Config<S> | null => {
    const op = sorted[i]!;
    const anyOutput = pending[i] === 1;
    const first = model.step(config.states[0]!, op.input);
    if (config.states.length === 1 && !isOutcomeList(first)) {
      // The common case, a deterministic model: no set to build.
      if (!anyOutput && !equal(first.output, op.output as O)) return null;
      return { states: [first.state], hash: hashKey(model, first.state) };
    }
    const states: S[] = [];
    const hashes: string[] = [];
    const consider = (o: Outcome<S, O>): void => {
      if (!anyOutput && !equal(o.output, op.output as O)) return;
      const h = hashKey(model, o.state);
      if (hashes.includes(h)) return;
      states.push(o.state);
      hashes.push(h);
    };
    config.states.forEach((s, k) => {
      const r = k === 0 ? first : model.step(s, op.input);
      if (isOutcomeList(r)) for (const o of r) consider(o);
      else consider(r);
    });
    if (states.length === 0) return null;
    if (states.length === 1) return { states, hash: hashes[0]! };
    // A set of possible states: canonical order, so equal sets hash alike.
    const order = hashes.map((_, k) => k).sort((a, b) => (hashes[a]! < hashes[b]! ? -1 : 1));
    return { states: order.map((k) => states[k]!), hash: order.map((k) => hashes[k]!).join('\u0001') };
  };

  const seen = new Set<string>();
  const stackOp = new Int32Array(n);
  const stackConfig: Config<S>[] = [];
  let depth = 0;
  let steps = 0;
  let config = initialConfig(model as Model<S, unknown, unknown>, init);
  let frontier = firstReturnTime();
  // The cursor over the current configuration's candidates: first the list's
  // call entries up to the first return (e), then the pending ops called by
  // then (p, up to callLimit).
  let inList = true;
  let e = next[HEAD]!;
  let p = 0;
  let callLimit = 0;

  for (;;) {
    let candidate = -1;
    if (inList) {
      if (e !== -1 && e < n) candidate = e;
      else {
        inList = false;
        p = 0;
        callLimit = e === -1 ? Infinity : time(e);
      }
    }
    if (!inList) {
      while (p < pendingCount && linearized[pendingOps[p]!]) p++;
      if (p < pendingCount && sorted[pendingOps[p]!]!.call <= callLimit) candidate = pendingOps[p]!;
    }
    if (candidate === -1) {
      // No op can go next here: backtrack.
      if (depth === 0) return { outcome: 'fail', steps, frontier };
      depth--;
      const i = stackOp[depth]!;
      config = stackConfig[depth]!;
      unlift(i);
      mark(i, 0);
      if (pending[i]) {
        inList = false;
        p = pendingIndex[i]! + 1;
        callLimit = firstReturnTime();
      } else {
        inList = true;
        e = next[i]!;
      }
      continue;
    }
    if (++steps > budget) return { outcome: 'limit', steps: steps - 1, frontier };
    const after = advance(config, candidate);
    if (after !== null) {
      mark(candidate, 1);
      lift(candidate);
      if (remaining === 0) return { outcome: 'ok', steps, frontier: Infinity };
      const key = memoKey(after.hash);
      if (!seen.has(key)) {
        seen.add(key);
        if (!pending[candidate]) frontier = Math.max(frontier, firstReturnTime());
        stackOp[depth] = candidate;
        stackConfig[depth] = config;
        depth++;
        config = after;
        inList = true;
        e = next[HEAD]!;
        continue;
      }
      // Explored from this configuration already: undo, try the next candidate.
      unlift(candidate);
      mark(candidate, 0);
    }
    if (inList) e = next[candidate]!;
    else p++;
  }
}

/** First index whose value is > target in an ascending array. */
function upperBound(sorted: readonly number[], target: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
