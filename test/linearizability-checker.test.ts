import { describe, it, expect } from 'vitest';
import { checkKvLinearizable, type HistoryEvent, type KvOp } from './support/linearizability.js';

type Value = string | number;

// --- history builders -------------------------------------------------------

const get = (key: string, output: Value | undefined): KvOp => ({ kind: 'get', key, output });
const put = (key: string, value: Value, output: Value | undefined): KvOp => ({ kind: 'put', key, value, output });
const del = (key: string, output: boolean): KvOp => ({ kind: 'delete', key, output });
const ev = (client: number, call: number, ret: number, op: KvOp): HistoryEvent => ({ client, call, ret, op });

/** Ops one after another on a single client, times 1,2,3,... */
function sequential(ops: KvOp[]): HistoryEvent[] {
  return ops.map((op, i) => ev(0, 2 * i + 1, 2 * i + 2, op));
}

// --- seeded randomness ------------------------------------------------------

/** mulberry32: tiny deterministic PRNG returning floats in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];

const VALUES: readonly Value[] = [1, 2, 3, 'x', 'y'];

function randomOp(rand: () => number, keys: readonly string[]): KvOp {
  const key = pick(rand, keys);
  const r = rand();
  // Outputs are placeholders; the simulation fills in the real ones.
  if (r < 0.45) return get(key, undefined);
  if (r < 0.85) return put(key, pick(rand, VALUES), undefined);
  return del(key, false);
}

/** Applies op to a real sequential map and returns it with its true output. */
function execute(store: Map<string, Value>, op: KvOp): KvOp {
  const prevValue = store.get(op.key);
  switch (op.kind) {
    case 'get':
      return { ...op, output: prevValue };
    case 'put':
      store.set(op.key, op.value);
      return { ...op, output: prevValue };
    case 'delete':
      return { ...op, output: store.delete(op.key) };
  }
}

/**
 * A linearizable history by construction: clients call, take effect on a
 * real sequential map at some random later moment, and return later still,
 * all against one logical clock, so intervals overlap at random.
 */
function generateHistory(
  seed: number,
  opts: { clients: number; ops: number; keys: readonly string[]; initial?: Map<string, Value> },
): HistoryEvent[] {
  const rand = prng(seed);
  const store = new Map(opts.initial);
  type Slot = { phase: 'idle' } | { phase: 'called' | 'applied'; call: number; op: KvOp };
  const slots: Slot[] = Array.from({ length: opts.clients }, () => ({ phase: 'idle' }));
  const history: HistoryEvent[] = [];
  let clock = 0;
  let issued = 0;
  while (history.length < opts.ops) {
    const c = Math.floor(rand() * opts.clients);
    const slot = slots[c];
    if (slot.phase === 'idle') {
      if (issued < opts.ops) {
        slots[c] = { phase: 'called', call: clock++, op: randomOp(rand, opts.keys) };
        issued++;
      }
    } else if (slot.phase === 'called') {
      slots[c] = { phase: 'applied', call: slot.call, op: execute(store, slot.op) };
    } else {
      history.push(ev(c, slot.call, clock++, slot.op));
      slots[c] = { phase: 'idle' };
    }
  }
  return history;
}

/** Replaces one get's output (chosen by seed) with a value no put ever wrote. */
function corruptOneGet(history: HistoryEvent[], seed: number): HistoryEvent[] {
  const gets = history.flatMap((e, i) => (e.op.kind === 'get' ? [i] : []));
  expect(gets.length).toBeGreaterThan(0);
  const victim = pick(prng(seed ^ 0x5eed), gets);
  return history.map((e, i) =>
    i === victim ? { ...e, op: get(e.op.key, 'never-written') } : e,
  );
}

/** Exhaustive reference: tries every real-time-respecting order against a Map. */
function bruteForceLinearizable(history: HistoryEvent[], initial: Map<string, Value>): boolean {
  const done = new Array<boolean>(history.length).fill(false);
  const search = (store: Map<string, Value>, count: number): boolean => {
    if (count === history.length) return true;
    for (let i = 0; i < history.length; i++) {
      if (done[i]) continue;
      // i may go next only if no other pending op returned before i was called.
      const blocked = history.some((o, j) => !done[j] && j !== i && o.ret < history[i].call);
      if (blocked) continue;
      const next = new Map(store);
      const result = execute(next, history[i].op);
      if (result.output !== history[i].op.output) continue;
      done[i] = true;
      const found = search(next, count + 1);
      done[i] = false;
      if (found) return true;
    }
    return false;
  };
  return search(new Map(initial), 0);
}

// --- tests ------------------------------------------------------------------

describe('checkKvLinearizable', () => {
  it('accepts an empty history', () => {
    expect(checkKvLinearizable([])).toEqual({ ok: true, visited: 0 });
  });

  it('accepts a sequential history', () => {
    const history = sequential([
      put('k', 1, undefined),
      get('k', 1),
      put('k', 'two', 1),
      get('k', 'two'),
      put('j', 5, undefined),
      del('k', true),
      get('k', undefined),
      get('j', 5),
    ]);
    const res = checkKvLinearizable(history);
    expect(res.ok).toBe(true);
    expect(res.visited).toBeGreaterThanOrEqual(history.length);
  });

  it('accepts a get that observes a put which started after the get', () => {
    // get [1,4] sees 1 from put [2,3]: linearize the put first.
    const history = [ev(0, 1, 4, get('k', 1)), ev(1, 2, 3, put('k', 1, undefined))];
    expect(checkKvLinearizable(history).ok).toBe(true);
  });

  it('accepts concurrent ops that only linearize against call order', () => {
    // Only order: put(2) [2,3], get→2 [4,5], put(1) [1,6] (prev 2), get→1 [7,8].
    const history = [
      ev(0, 1, 6, put('k', 1, 2)),
      ev(1, 2, 3, put('k', 2, undefined)),
      ev(2, 4, 5, get('k', 2)),
      ev(1, 7, 8, get('k', 1)),
    ];
    expect(checkKvLinearizable(history).ok).toBe(true);
  });

  it('accepts many fully concurrent puts chained through their previous values', () => {
    // 12 mutually overlapping puts (called in value order) whose previous
    // values form a single chain in a scrambled order.
    const chain = [7, 2, 11, 0, 5, 9, 1, 4, 10, 3, 8, 6];
    const history = chain.map((v, t) => ev(v, v + 1, 100 + v, put('k', v, t === 0 ? undefined : chain[t - 1])));
    expect(checkKvLinearizable(history).ok).toBe(true);
  });

  it('rejects a stale read after a completed put', () => {
    const history = [ev(0, 1, 2, put('k', 1, undefined)), ev(1, 3, 4, get('k', undefined))];
    const res = checkKvLinearizable(history);
    expect(res.ok).toBe(false);
    expect(res.key).toBe('k');
    expect(res.reason).toMatch(/no linearization/);
  });

  it('rejects a new-then-old read inversion around one concurrent put', () => {
    const history = [
      ev(0, 1, 10, put('k', 1, undefined)),
      ev(1, 2, 3, get('k', 1)),
      ev(1, 4, 5, get('k', undefined)),
    ];
    const res = checkKvLinearizable(history);
    expect(res.ok).toBe(false);
    expect(res.key).toBe('k');
  });

  it('rejects a put returning an impossible previous value', () => {
    const sequentialBad = sequential([put('k', 1, undefined), put('k', 2, 7)]);
    expect(checkKvLinearizable(sequentialBad).ok).toBe(false);
    // Two overlapping puts cannot both see an absent key.
    const concurrentBad = [ev(0, 1, 4, put('k', 1, undefined)), ev(1, 2, 3, put('k', 2, undefined))];
    expect(checkKvLinearizable(concurrentBad).ok).toBe(false);
  });

  it('distinguishes number and string values', () => {
    expect(checkKvLinearizable(sequential([put('k', '1', undefined), get('k', 1)])).ok).toBe(false);
    expect(checkKvLinearizable(sequential([put('k', '1', undefined), get('k', '1')])).ok).toBe(true);
  });

  it('reports the failing key and checks keys independently', () => {
    const history = [
      ev(0, 1, 2, put('a', 1, undefined)),
      ev(1, 3, 4, get('a', 1)),
      ev(0, 5, 6, put('b', 1, undefined)),
      ev(1, 7, 8, get('b', 2)),
    ];
    const res = checkKvLinearizable(history);
    expect(res).toMatchObject({ ok: false, key: 'b' });
  });

  it('handles deletes', () => {
    expect(
      checkKvLinearizable(
        sequential([put('k', 1, undefined), del('k', true), del('k', false), get('k', undefined), put('k', 2, undefined)]),
      ).ok,
    ).toBe(true);
    // Deleting an absent key cannot report that it existed, and vice versa.
    expect(checkKvLinearizable(sequential([del('k', true)])).ok).toBe(false);
    expect(checkKvLinearizable(sequential([put('k', 1, undefined), del('k', false)])).ok).toBe(false);
    // A read after a completed delete cannot see the old value.
    expect(checkKvLinearizable(sequential([put('k', 1, undefined), del('k', true), get('k', 1)])).ok).toBe(false);
    // An overlapping delete may take effect before a put that returned no previous value.
    const concurrent = [ev(0, 1, 2, put('k', 1, undefined)), ev(0, 3, 8, put('k', 2, undefined)), ev(1, 4, 5, del('k', true))];
    expect(checkKvLinearizable(concurrent).ok).toBe(true);
  });

  it('uses the initial state per key', () => {
    const initial = new Map<string, Value>([['k', 'x'], ['unused', 9]]);
    const history = sequential([get('k', 'x'), put('k', 1, 'x'), del('k', true), get('j', undefined)]);
    expect(checkKvLinearizable(history, { initial }).ok).toBe(true);
    // Without the initial value the first get is impossible.
    expect(checkKvLinearizable(history)).toMatchObject({ ok: false, key: 'k' });
    // With it, a delete must report the key as existing.
    expect(checkKvLinearizable(sequential([del('k', false)]), { initial }).ok).toBe(false);
  });

  it('never claims ok when the search limit is hit', () => {
    const history = generateHistory(1, { clients: 8, ops: 200, keys: ['a'] });
    expect(checkKvLinearizable(history).ok).toBe(true);
    const res = checkKvLinearizable(history, { maxVisited: 10 });
    expect(res).toMatchObject({ ok: false, reason: 'search limit exceeded' });
    expect(res.visited).toBeLessThanOrEqual(10);
  });

  it('rejects malformed intervals', () => {
    expect(() => checkKvLinearizable([ev(0, 2, 2, get('k', undefined))])).toThrow(RangeError);
    expect(() =>
      checkKvLinearizable([ev(0, 1, 3, get('k', undefined)), ev(1, 2, 3, get('k', undefined))]),
    ).toThrow(RangeError);
  });

  it('accepts randomly overlapping histories of real executions and rejects corrupted ones', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const initial = seed % 3 === 0 ? new Map<string, Value>([['a', 'x']]) : undefined;
      const history = generateHistory(seed, { clients: 8, ops: 150, keys: ['a', 'b', 'c'], initial });
      const res = checkKvLinearizable(history, { initial });
      expect(res, `seed ${seed}`).toMatchObject({ ok: true });

      const corrupted = checkKvLinearizable(corruptOneGet(history, seed), { initial });
      expect(corrupted.ok, `seed ${seed}`).toBe(false);
      expect(corrupted.reason, `seed ${seed}`).toMatch(/no linearization/);
    }
  });

  it('checks a few thousand ops on one key quickly at low concurrency', () => {
    const history = generateHistory(42, { clients: 8, ops: 5000, keys: ['hot'] });
    const start = performance.now();
    const res = checkKvLinearizable(history);
    expect(res.ok).toBe(true);
    const corrupted = checkKvLinearizable(corruptOneGet(history, 42));
    expect(corrupted).toMatchObject({ ok: false, key: 'hot' });
    expect(performance.now() - start).toBeLessThan(5_000);
  });

  it('agrees with a brute-force checker on small random histories', () => {
    let accepted = 0;
    let rejected = 0;
    for (let seed = 1; seed <= 1500; seed++) {
      const rand = prng(seed);
      const n = 1 + Math.floor(rand() * 6);
      // Unique times, paired into intervals at random, so overlaps vary freely.
      const times = Array.from({ length: 2 * n }, (_, i) => i);
      for (let i = times.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [times[i], times[j]] = [times[j], times[i]];
      }
      const outputs: readonly (Value | undefined)[] = [undefined, 1, 2];
      const history = Array.from({ length: n }, (_, i) => {
        const [call, ret] = [times[2 * i], times[2 * i + 1]].sort((a, b) => a - b);
        const key = pick(rand, ['a', 'b']);
        const r = rand();
        const op =
          r < 0.4
            ? get(key, pick(rand, outputs))
            : r < 0.8
              ? put(key, pick(rand, [1, 2]), pick(rand, outputs))
              : del(key, rand() < 0.5);
        return ev(i, call, ret, op);
      });
      const initial = new Map<string, Value>(rand() < 0.5 ? [['a', 1]] : []);
      const expected = bruteForceLinearizable(history, initial);
      expect(checkKvLinearizable(history, { initial }).ok, `seed ${seed}`).toBe(expected);
      if (expected) accepted++;
      else rejected++;
    }
    // Make sure the comparison exercised both outcomes.
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });
});

describe('pending ops (their thread died before the answer)', () => {
  it('may have taken effect, or not', () => {
    const put = (client: number, call: number, ret: number, value: number, output: number | undefined, pending = false) => ({
      client,
      call,
      ret,
      pending,
      op: { kind: 'put' as const, key: 'k', value, output },
    });
    const get = (client: number, call: number, ret: number, output: number | undefined) => ({ client, call, ret, op: { kind: 'get' as const, key: 'k', output } });
    // A pending put that was seen, and one that never was: both fine if they end last.
    expect(checkKvLinearizable([put(1, 1, 100, 7, undefined, true), get(2, 5, 6, 7)]).ok).toBe(true);
    expect(checkKvLinearizable([put(1, 1, 100, 7, undefined, true), get(2, 5, 6, undefined)]).ok).toBe(true);
    // But a read cannot see a value that nothing, pending or not, wrote.
    expect(checkKvLinearizable([put(1, 1, 100, 7, undefined, true), get(2, 5, 6, 8)]).ok).toBe(false);
  });
});
