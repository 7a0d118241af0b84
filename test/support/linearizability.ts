/**
 * Linearizability checker for key-value histories, following the
 * Wing & Gong algorithm with Lowe's memoisation (the approach Porcupine's
 * `checkSingle` popularised).
 *
 * Linearizability is local (compositional), so the history is split by key
 * and each key is checked on its own as a register whose state is a value or
 * `undefined`. Per key, the search walks a doubly-linked list of call/return
 * entries ordered by time: any call that appears before the first return may
 * take effect next. Applying one removes its call and return from the list
 * (dancing-links style, so backtracking is O(1)); reaching a return entry means
 * that operation should already have taken effect, so the search backtracks.
 * Configurations (set of linearized ops, model state) already explored are
 * memoised so each is expanded at most once. The search is a loop with an
 * explicit stack, so history length is not limited by the JS call stack.
 */

export type KvOp =
  | { kind: 'get'; key: string; output: string | number | undefined } // returns current value
  | { kind: 'put'; key: string; value: string | number; output: string | number | undefined } // returns previous value
  | { kind: 'delete'; key: string; output: boolean }; // returns whether key existed

/**
 * `call < ret`; times come from one shared logical clock (integers, all unique).
 * A `pending` op was invoked but never answered (its thread died): it may or
 * may not have taken effect, so its output is not checked. Give it a `ret`
 * later than every other time in the history.
 */
export interface HistoryEvent {
  pending?: boolean;
  client: number;
  call: number;
  ret: number;
  op: KvOp;
}

export interface CheckResult {
  ok: boolean;
  /** The key whose sub-history failed (absent when ok). */
  key?: string;
  /** Model steps attempted, summed over all keys checked. */
  visited: number;
  reason?: string;
}

const DEFAULT_MAX_VISITED = 5_000_000;
const SEARCH_LIMIT_REASON = 'search limit exceeded';

/** Interned value id of `undefined` (key absent). */
const ABSENT = 0;
/** Output of a pending op: anything goes. */
const ANY_OUTPUT = -3;

/** Returned by a model step whose result does not match the recorded output. */
const MISMATCH = -1;

const GET = 0;
const PUT = 1;
const DELETE = 2;

/**
 * Values are interned to small integers so model states compare and hash
 * cheaply. A Map keeps `1` and `'1'` distinct, as the model requires.
 */
class ValueInterner {
  private readonly ids = new Map<string | number, number>();

  id(value: string | number | undefined): number {
    if (value === undefined) return ABSENT;
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(value, id);
    }
    return id;
  }
}

export function checkKvLinearizable(
  history: HistoryEvent[],
  opts: { initial?: Map<string, string | number>; maxVisited?: number } = {},
): CheckResult {
  validate(history);
  const maxVisited = opts.maxVisited ?? DEFAULT_MAX_VISITED;
  const interner = new ValueInterner();

  const byKey = new Map<string, HistoryEvent[]>();
  for (const ev of history) {
    const list = byKey.get(ev.op.key);
    if (list) list.push(ev);
    else byKey.set(ev.op.key, [ev]);
  }

  let visited = 0;
  for (const [key, events] of byKey) {
    const initial = interner.id(opts.initial?.get(key));
    const res = checkRegister(events, initial, interner, maxVisited - visited);
    visited += res.visited;
    if (res.outcome === 'limit') {
      return { ok: false, key, visited, reason: SEARCH_LIMIT_REASON };
    }
    if (res.outcome === 'fail') {
      return {
        ok: false,
        key,
        visited,
        reason:
          `no linearization for key ${JSON.stringify(key)}: ` +
          `at most ${res.deepest} of ${events.length} ops could be linearized`,
      };
    }
  }
  return { ok: true, visited };
}

function validate(history: HistoryEvent[]): void {
  const times = new Set<number>();
  for (const ev of history) {
    if (!Number.isInteger(ev.call) || !Number.isInteger(ev.ret) || ev.call >= ev.ret) {
      throw new RangeError(`invalid interval [${ev.call}, ${ev.ret}] for client ${ev.client}`);
    }
    for (const t of [ev.call, ev.ret]) {
      // Equal timestamps would make the real-time order ambiguous.
      if (times.has(t)) throw new RangeError(`duplicate timestamp ${t}`);
      times.add(t);
    }
  }
}

type RegisterOutcome =
  | { outcome: 'ok'; visited: number }
  | { outcome: 'fail'; visited: number; deepest: number }
  | { outcome: 'limit'; visited: number };

/** WGL search over one key's sub-history. */
function checkRegister(
  events: HistoryEvent[],
  initialState: number,
  interner: ValueInterner,
  budget: number,
): RegisterOutcome {
  // Ops are numbered in call order, so the call entry of op i is entry i and
  // its return entry is entry n + i; HEAD is the list sentinel.
  const ops = [...events].sort((a, b) => a.call - b.call);
  const n = ops.length;
  const HEAD = 2 * n;

  // Pre-decoded ops: kind, interned expected output, interned written value.
  const kind = new Uint8Array(n);
  const out = new Int32Array(n);
  const val = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const op = ops[i].op;
    if (ops[i].pending) {
      kind[i] = op.kind === 'get' ? GET : op.kind === 'put' ? PUT : DELETE;
      out[i] = ANY_OUTPUT;
      if (op.kind === 'put') val[i] = interner.id(op.value);
      continue;
    }
    if (op.kind === 'get') {
      kind[i] = GET;
      out[i] = interner.id(op.output);
    } else if (op.kind === 'put') {
      kind[i] = PUT;
      out[i] = interner.id(op.output);
      val[i] = interner.id(op.value);
    } else {
      kind[i] = DELETE;
      out[i] = op.output ? 1 : 0;
    }
  }

  /** Register model: the next state, or MISMATCH if the output is impossible. */
  const step = (i: number, state: number): number => {
    if (out[i] === ANY_OUTPUT) return kind[i] === PUT ? val[i] : kind[i] === DELETE ? ABSENT : state;
    switch (kind[i]) {
      case GET:
        return out[i] === state ? state : MISMATCH;
      case PUT:
        return out[i] === state ? val[i] : MISMATCH;
      default:
        return (state !== ABSENT ? 1 : 0) === out[i] ? ABSENT : MISMATCH;
    }
  };

  // Doubly-linked list of all entries in time order.
  const entries: number[] = [];
  for (let i = 0; i < n; i++) entries.push(i, n + i);
  const time = (e: number): number => (e < n ? ops[e].call : ops[e - n].ret);
  entries.sort((a, b) => time(a) - time(b));
  const next = new Int32Array(2 * n + 1).fill(-1);
  const prev = new Int32Array(2 * n + 1).fill(-1);
  let tail = HEAD;
  for (const e of entries) {
    next[tail] = e;
    prev[e] = tail;
    tail = e;
  }

  // A call entry always precedes its own return, so list removal of a call
  // never touches the end; a return may be last.
  const lift = (i: number): void => {
    const c = i;
    const r = n + i;
    next[prev[c]] = next[c];
    prev[next[c]] = prev[c];
    next[prev[r]] = next[r];
    if (next[r] !== -1) prev[next[r]] = prev[r];
  };
  // Exact inverse of lift; valid because lifts are undone in LIFO order.
  const unlift = (i: number): void => {
    const c = i;
    const r = n + i;
    if (next[r] !== -1) prev[next[r]] = r;
    next[prev[r]] = r;
    prev[next[c]] = c;
    next[prev[c]] = c;
  };

  // Compact, exact encoding of the linearized set for memoisation. Let m be
  // the earliest-called op not yet linearized (the list head). Every op before
  // m is linearized, and any linearized op j > m was applied while m's return
  // was still pending, so call(j) < ret(m). Hence (m, bits of ops in
  // (m, windowEnd[m])) determines the whole set, and the window is only about
  // as wide as the concurrency around m rather than the whole history.
  const callTimes = ops.map((ev) => ev.call);
  const windowEnd = new Int32Array(n);
  for (let i = 0; i < n; i++) windowEnd[i] = lowerBound(callTimes, ops[i].ret);
  const linearized = new Uint8Array(n);
  const chars: number[] = [];
  const memoKey = (state: number): string => {
    const m = next[HEAD];
    chars.length = 0;
    let word = 0;
    let bit = 0;
    for (let j = m + 1; j < windowEnd[m]; j++) {
      if (linearized[j]) word |= 1 << bit;
      if (++bit === 16) {
        chars.push(word);
        word = 0;
        bit = 0;
      }
    }
    if (bit > 0) chars.push(word);
    // Chunked so a very wide window cannot exceed the engine's argument limit.
    let packed = '';
    for (let k = 0; k < chars.length; k += 4096) {
      packed += String.fromCharCode(...chars.slice(k, k + 4096));
    }
    return `${m},${state},${packed}`;
  };

  const seen = new Set<string>();
  const stackOp = new Int32Array(n);
  const stackState = new Int32Array(n);
  let depth = 0;
  let deepest = 0;
  let visited = 0;
  let state = initialState;
  let e = next[HEAD];

  while (next[HEAD] !== -1) {
    if (e < n) {
      // Call entry before the first pending return: try to apply it now.
      if (++visited > budget) return { outcome: 'limit', visited: visited - 1 };
      const nextState = step(e, state);
      if (nextState !== MISMATCH) {
        linearized[e] = 1;
        lift(e);
        if (next[HEAD] === -1) return { outcome: 'ok', visited };
        const key = memoKey(nextState);
        if (!seen.has(key)) {
          seen.add(key);
          stackOp[depth] = e;
          stackState[depth] = state;
          depth++;
          if (depth > deepest) deepest = depth;
          state = nextState;
          e = next[HEAD];
          continue;
        }
        // Already explored from this configuration: undo and try the next call.
        unlift(e);
        linearized[e] = 0;
      }
      e = next[e];
    } else {
      // Reached a return whose op has not taken effect: backtrack.
      if (depth === 0) return { outcome: 'fail', visited, deepest };
      depth--;
      const i = stackOp[depth];
      state = stackState[depth];
      unlift(i);
      linearized[i] = 0;
      e = next[i];
    }
  }
  return { outcome: 'ok', visited }; // empty sub-history
}

/** First index whose value is >= target in an ascending array. */
function lowerBound(sorted: number[], target: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
