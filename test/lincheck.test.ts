/**
 * The linearizability checker (node-replication/lincheck) on hand-made
 * histories: verdicts, witnesses, pending ops, the models, nondeterministic
 * models, input errors, and agreement with a brute-force checker.
 */
import { describe, expect, it } from 'vitest';
import {
  checkLinearizable,
  hashMapModel,
  kvModel,
  LincheckError,
  registerModel,
  type CheckResult,
  type HashMapInput,
  type HashMapOutput,
  type KvInput,
  type KvOutput,
  type Model,
  type Operation,
  type Violation,
} from '../src/lincheck/index.js';
import { mulberry32 } from './support/prng.js';

type Value = string | number;
type KvOp = Operation<KvInput<Value>, KvOutput<Value>>;

const get = (key: string): KvInput<Value> => ({ op: 'get', key });
const put = (key: string, value: Value): KvInput<Value> => ({ op: 'put', key, value });
const del = (key: string): KvInput<Value> => ({ op: 'delete', key });
const cas = (key: string, expected: Value | undefined, value: Value): KvInput<Value> => ({ op: 'cas', key, expected, value });
const op = (client: number, call: number, ret: number, input: KvInput<Value>, output: KvOutput<Value>): KvOp => ({ client, call, ret, input, output });
const pendingOp = (client: number, call: number, input: KvInput<Value>): KvOp => ({ client, call, input });

/** One client, one op after another. */
function sequential(ops: [KvInput<Value>, KvOutput<Value>][]): KvOp[] {
  return ops.map(([input, output], i) => op(0, 2 * i + 1, 2 * i + 2, input, output));
}

const kv = (initial?: Map<string, Value>) => kvModel<Value>(initial ? { initial } : {});

function expectViolation<I, O>(r: CheckResult<I, O>): Violation<I, O> {
  expect(r.verdict, r.verdict === 'violation' ? r.explanation : JSON.stringify(r)).toBe('violation');
  return r as Violation<I, O>;
}

describe('verdicts on the kv model', () => {
  it('accepts an empty history', () => {
    expect(checkLinearizable(kv(), [])).toEqual({ verdict: 'linearizable', steps: 0, partitions: 0 });
  });

  it('accepts a sequential history, one partition per key', () => {
    const h = sequential([
      [put('k', 1), undefined],
      [get('k'), 1],
      [put('k', 'two'), 1],
      [get('k'), 'two'],
      [put('j', 5), undefined],
      [del('k'), true],
      [get('k'), undefined],
      [get('j'), 5],
    ]);
    const r = checkLinearizable(kv(), h);
    expect(r).toMatchObject({ verdict: 'linearizable', partitions: 2 });
    expect(r.steps).toBeGreaterThanOrEqual(h.length);
  });

  it('accepts a get that observes a put which started after the get', () => {
    expect(checkLinearizable(kv(), [op(0, 1, 4, get('k'), 1), op(1, 2, 3, put('k', 1), undefined)]).verdict).toBe('linearizable');
  });

  it('accepts concurrent ops that only linearize against call order', () => {
    // Only order: put(2) [2,3], get→2 [4,5], put(1) [1,6] (prev 2), get→1 [7,8].
    const h = [op(0, 1, 6, put('k', 1), 2), op(1, 2, 3, put('k', 2), undefined), op(2, 4, 5, get('k'), 2), op(1, 7, 8, get('k'), 1)];
    expect(checkLinearizable(kv(), h).verdict).toBe('linearizable');
  });

  it('accepts many fully concurrent puts chained through their previous values', () => {
    const chain = [7, 2, 11, 0, 5, 9, 1, 4, 10, 3, 8, 6];
    const h = chain.map((v, t) => op(v, v + 1, 100 + v, put('k', v), t === 0 ? undefined : chain[t - 1]));
    expect(checkLinearizable(kv(), h).verdict).toBe('linearizable');
  });

  it('treats touching intervals as concurrent', () => {
    // The get is called at the very moment the put returns: either order is possible.
    expect(checkLinearizable(kv(), [op(0, 1, 2, put('k', 1), undefined), op(1, 2, 3, get('k'), undefined)]).verdict).toBe('linearizable');
    expect(checkLinearizable(kv(), [op(0, 1, 2, put('k', 1), undefined), op(1, 3, 4, get('k'), undefined)]).verdict).toBe('violation');
  });

  it('rejects a stale read after a completed put, naming the key, the culprit and a two-op witness', () => {
    const h = [op(0, 1, 2, put('k', 1), undefined), op(1, 3, 4, get('k'), undefined)];
    const v = expectViolation(checkLinearizable(kv(), h));
    expect(v.partition).toBe('k');
    expect(v.culprit).toBe(h[1]);
    expect(v.witness).toEqual(h);
    expect(v.minimal).toBe(true);
    expect(v.explanation).toContain('partition "k" of model kv');
    expect(v.explanation).toContain('get("k") -> undefined [3, 4]');
  });

  it('shrinks a long history to the ops that explain the violation', () => {
    // Noise on other keys and earlier on the same key, then a stale read of 'k'.
    const h: KvOp[] = [];
    let t = 1;
    for (let i = 0; i < 40; i++) h.push(op(i % 3, t++, t++, put(`n${i % 4}`, i), i < 4 ? undefined : i - 4));
    for (let i = 0; i < 10; i++) h.push(op(0, t++, t++, put('k', i), i === 0 ? undefined : i - 1));
    const staleAt = h.length;
    h.push(op(1, t++, t++, get('k'), 3));
    for (let i = 0; i < 10; i++) h.push(op(2, t++, t++, get('k'), 9));
    const v = expectViolation(checkLinearizable(kv(), h));
    expect(v.partition).toBe('k');
    expect(v.culprit).toBe(h[staleAt]);
    expect(v.minimal).toBe(true);
    // The read of 3 is impossible once put(4) overwrote it; put(3)'s own answer (2) needs the
    // chain put(0)..put(2) before it. Nothing else matters: no other key, no later op.
    const puts = h.filter((o) => o.input.op === 'put' && o.input.key === 'k');
    expect(v.witness).toEqual([...puts.slice(0, 5), h[staleAt]]);
    // The witness is a violation on its own, and linearizable without the culprit's answer.
    expect(checkLinearizable(kv(), v.witness).verdict).toBe('violation');
    expect(checkLinearizable(kv(), v.witness.filter((o) => o !== v.culprit)).verdict).toBe('linearizable');
  });

  it('rejects a new-then-old read inversion around one concurrent put', () => {
    const h = [op(0, 1, 10, put('k', 1), undefined), op(1, 2, 3, get('k'), 1), op(1, 4, 5, get('k'), undefined)];
    const v = expectViolation(checkLinearizable(kv(), h));
    expect(v.culprit).toBe(h[2]);
  });

  it('rejects a put returning an impossible previous value', () => {
    expectViolation(checkLinearizable(kv(), sequential([[put('k', 1), undefined], [put('k', 2), 7]])));
    // Two overlapping puts cannot both see an absent key.
    expectViolation(checkLinearizable(kv(), [op(0, 1, 4, put('k', 1), undefined), op(1, 2, 3, put('k', 2), undefined)]));
  });

  it('distinguishes number and string values', () => {
    expectViolation(checkLinearizable(kv(), sequential([[put('k', '1'), undefined], [get('k'), 1]])));
    expect(checkLinearizable(kv(), sequential([[put('k', '1'), undefined], [get('k'), '1']])).verdict).toBe('linearizable');
  });

  it('checks keys independently and reports the failing one', () => {
    const h = [op(0, 1, 2, put('a', 1), undefined), op(1, 3, 4, get('a'), 1), op(0, 5, 6, put('b', 1), undefined), op(1, 7, 8, get('b'), 2)];
    expect(expectViolation(checkLinearizable(kv(), h)).partition).toBe('b');
  });

  it('handles deletes', () => {
    expect(
      checkLinearizable(kv(), sequential([[put('k', 1), undefined], [del('k'), true], [del('k'), false], [get('k'), undefined], [put('k', 2), undefined]])).verdict,
    ).toBe('linearizable');
    expectViolation(checkLinearizable(kv(), sequential([[del('k'), true]])));
    expectViolation(checkLinearizable(kv(), sequential([[put('k', 1), undefined], [del('k'), false]])));
    expectViolation(checkLinearizable(kv(), sequential([[put('k', 1), undefined], [del('k'), true], [get('k'), 1]])));
    // An overlapping delete may take effect before a put that saw no previous value.
    const h = [op(0, 1, 2, put('k', 1), undefined), op(0, 3, 8, put('k', 2), undefined), op(1, 4, 5, del('k'), true)];
    expect(checkLinearizable(kv(), h).verdict).toBe('linearizable');
  });

  it('checks compare-and-set: success writes, failure reports the current value', () => {
    const ok = sequential([
      [cas('k', undefined, 1), { ok: true }],
      [cas('k', 5, 2), { ok: false, current: 1 }],
      [cas('k', 1, 3), { ok: true }],
      [get('k'), 3],
    ]);
    expect(checkLinearizable(kv(), ok).verdict).toBe('linearizable');
    // A cas cannot fail while the key holds what it expected ...
    expectViolation(checkLinearizable(kv(), sequential([[put('k', 1), undefined], [cas('k', 1, 2), { ok: false, current: 1 }]])));
    // ... cannot report a current value the key does not hold ...
    expectViolation(checkLinearizable(kv(), sequential([[put('k', 1), undefined], [cas('k', 7, 2), { ok: false, current: 9 }]])));
    // ... and a failed one writes nothing.
    expectViolation(checkLinearizable(kv(), sequential([[put('k', 1), undefined], [cas('k', 7, 2), { ok: false, current: 1 }], [get('k'), 2]])));
    // Two concurrent cas from the same expected value cannot both win.
    const race = [op(0, 1, 4, cas('k', undefined, 1), { ok: true }), op(1, 2, 3, cas('k', undefined, 2), { ok: true })];
    expectViolation(checkLinearizable(kv(), race));
  });

  it('uses the initial state per key', () => {
    const initial = new Map<string, Value>([['k', 'x'], ['unused', 9]]);
    const h = sequential([[get('k'), 'x'], [put('k', 1), 'x'], [del('k'), true], [get('j'), undefined]]);
    expect(checkLinearizable(kv(initial), h).verdict).toBe('linearizable');
    expect(expectViolation(checkLinearizable(kv(), h)).partition).toBe('k');
    expectViolation(checkLinearizable(kv(initial), sequential([[del('k'), false]])));
  });
});

describe('pending ops (their client died before the answer)', () => {
  it('may have taken effect, or not, but only after their call', () => {
    expect(checkLinearizable(kv(), [pendingOp(1, 1, put('k', 7)), op(2, 5, 6, get('k'), 7)]).verdict).toBe('linearizable');
    expect(checkLinearizable(kv(), [pendingOp(1, 1, put('k', 7)), op(2, 5, 6, get('k'), undefined)]).verdict).toBe('linearizable');
    // Seen, then unseen: a put takes effect once.
    const twice = [pendingOp(1, 1, put('k', 7)), op(2, 5, 6, get('k'), 7), op(2, 7, 8, get('k'), undefined)];
    expectViolation(checkLinearizable(kv(), twice));
    // Nothing wrote 8.
    expectViolation(checkLinearizable(kv(), [pendingOp(1, 1, put('k', 7)), op(2, 5, 6, get('k'), 8)]));
    // Called after the read answered: it cannot explain the read.
    expectViolation(checkLinearizable(kv(), [op(2, 5, 6, get('k'), 7), pendingOp(1, 9, put('k', 7))]));
  });

  it('a pending cas may win or lose', () => {
    const h = [op(0, 1, 2, put('k', 1), undefined), pendingOp(1, 3, cas('k', 1, 2))];
    expect(checkLinearizable(kv(), [...h, op(2, 4, 5, get('k'), 2)]).verdict).toBe('linearizable');
    expect(checkLinearizable(kv(), [...h, op(2, 4, 5, get('k'), 1)]).verdict).toBe('linearizable');
    // It expected 1, so it cannot have written over 5.
    const over = [op(0, 1, 2, put('k', 5), undefined), pendingOp(1, 3, cas('k', 1, 2)), op(2, 4, 5, get('k'), 2)];
    expectViolation(checkLinearizable(kv(), over));
  });

  it('a pending read-only op is dropped: it constrains nothing', () => {
    const h = [pendingOp(1, 1, get('k')), op(0, 2, 3, put('k', 1), undefined)];
    expect(checkLinearizable(kv(), h)).toEqual({ verdict: 'linearizable', steps: 1, partitions: 1 });
  });
});

describe('the register model', () => {
  const reg = registerModel<number>(0);
  type R = Parameters<typeof reg.step>[1];
  const rop = (call: number, ret: number, input: R, output: number | boolean | undefined) => ({ call, ret, input, output });

  it('reads, writes and compare-and-sets', () => {
    const h = [
      rop(1, 2, { op: 'read' }, 0),
      rop(3, 4, { op: 'cas', expected: 0, value: 5 }, true),
      rop(5, 6, { op: 'cas', expected: 0, value: 6 }, false),
      rop(7, 8, { op: 'write', value: 9 }, undefined),
      rop(9, 10, { op: 'read' }, 9),
    ];
    expect(checkLinearizable(reg, h)).toMatchObject({ verdict: 'linearizable', partitions: 1 });
    const bad = [rop(1, 2, { op: 'write', value: 1 }, undefined), rop(3, 4, { op: 'cas', expected: 1, value: 2 }, false)];
    const v = expectViolation(checkLinearizable(reg, bad));
    expect(v.partition).toBeUndefined();
    expect(v.explanation).toContain('cas(1 -> 2) -> false');
  });
});

describe('a nondeterministic model', () => {
  // A set that may drop an element on insert (a lossy cache): insert returns nothing, has() reports.
  type SetIn = { op: 'add'; x: number } | { op: 'has'; x: number };
  const lossy: Model<readonly number[], SetIn, boolean | undefined> = {
    name: 'lossy-set',
    init: [],
    step(state, input) {
      if (input.op === 'has') return { state, output: state.includes(input.x) };
      if (state.includes(input.x)) return { state, output: undefined };
      const added = [...state, input.x].sort((a, b) => a - b);
      return [
        { state: added, output: undefined },
        { state, output: undefined }, // dropped
      ];
    },
    hash: (s) => s.join(','),
  };

  it('accepts either outcome and tracks the set of possible states', () => {
    const seen = [{ call: 1, ret: 2, input: { op: 'add', x: 1 } as SetIn, output: undefined }, { call: 3, ret: 4, input: { op: 'has', x: 1 } as SetIn, output: true }];
    const lost = [seen[0]!, { call: 3, ret: 4, input: { op: 'has', x: 1 } as SetIn, output: false }];
    expect(checkLinearizable(lossy, seen).verdict).toBe('linearizable');
    expect(checkLinearizable(lossy, lost).verdict).toBe('linearizable');
    // Once seen, it stays.
    expectViolation(checkLinearizable(lossy, [...seen, { call: 5, ret: 6, input: { op: 'has', x: 1 }, output: false }]));
  });
});

describe('bounds and bad input', () => {
  it('gives up at the step limit instead of claiming either verdict', () => {
    const h: KvOp[] = [];
    // 12 overlapping puts whose answers chain in scrambled order: many orders to try.
    const chain = [7, 2, 11, 0, 5, 9, 1, 4, 10, 3, 8, 6];
    chain.forEach((v, t) => h.push(op(v, v + 1, 100 + v, put('k', v), t === 0 ? undefined : chain[t - 1])));
    expect(checkLinearizable(kv(), h).verdict).toBe('linearizable');
    const r = checkLinearizable(kv(), h, { maxSteps: 5 });
    expect(r).toEqual({ verdict: 'gave-up', reason: 'step limit', partition: 'k', steps: 5 });
  });

  it('a violation whose witness search has no budget still says violation', () => {
    // The failed search's frontier alone pins this culprit; shrinking gets no steps.
    const stale = [op(0, 1, 2, put('k', 1), undefined), op(1, 3, 4, get('k'), undefined)];
    expect(expectViolation(checkLinearizable(kv(), stale, { witnessSteps: 0 }))).toMatchObject({ culprit: stale[1], witness: stale, minimal: false });
    // Here the culprit (a put answering a value nobody wrote) needs a search past the frontier.
    const h = [op(0, 1, 10, put('k', 1), 5), op(1, 2, 3, get('k'), 1)];
    const v = expectViolation(checkLinearizable(kv(), h, { witnessSteps: 0 }));
    expect(v).toMatchObject({ partition: 'k', culprit: undefined, minimal: false });
    expect(v.witness).toEqual(h);
    expect(v.explanation).toMatch(/witness search ran out of steps; all 2 ops listed/);
    expect(expectViolation(checkLinearizable(kv(), h)).culprit).toBe(h[0]);
  });

  it('a violation in another partition wins over a give-up', () => {
    const chain = [7, 2, 11, 0, 5, 9, 1, 4, 10, 3, 8, 6];
    const h = chain.map((v, t) => op(v, v + 1, 100 + v, put('k', v), t === 0 ? undefined : chain[t - 1]));
    h.push(op(0, 200, 201, get('other'), 1));
    expect(expectViolation(checkLinearizable(kv(), h, { maxSteps: 5 })).partition).toBe('other');
  });

  it('rejects malformed histories with a typed error naming the op', () => {
    const bad = (h: unknown, pattern: RegExp, index?: number): void => {
      let err: unknown;
      try {
        checkLinearizable(kv(), h as KvOp[]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LincheckError);
      expect((err as LincheckError).code).toBe('ERR_LINCHECK_HISTORY');
      expect((err as LincheckError).message).toMatch(pattern);
      expect((err as LincheckError).index).toBe(index);
    };
    bad('nope', /must be an array/);
    bad([op(0, 1, 2, get('k'), undefined), op(0, 3, 2, get('k'), undefined)], /operation 1: ret must be .* >= call/, 1);
    bad([{ call: Number.NaN, ret: 1, input: get('k'), output: undefined }], /call must be a finite number/, 0);
    bad([{ call: 1, input: get('k'), output: 3 }], /pending op .* has no output/, 0);
    bad([{ call: 1, ret: 2, input: get('k'), output: 3, pending: true }], /unknown field "pending"/, 0);
    bad([{ call: 1, ret: 2, output: 3 }], /no input/, 0);
  });

  it('rejects unknown options and malformed models', () => {
    expect(() => checkLinearizable(kv(), [], { maxStep: 3 } as never)).toThrow(/unknown option "maxStep"/);
    expect(() => checkLinearizable(kv(), [], { maxSteps: -1 })).toThrow(LincheckError);
    expect(() => kvModel({ initail: new Map() } as never)).toThrow(/unknown option "initail"/);
    expect(() => checkLinearizable({ name: 'x', init: 0 } as never, [])).toThrow(/needs a step/);
    const wrongKey = { ...registerModel(0), partition: { key: () => ({}) as never } };
    expect(() => checkLinearizable(wrongKey, [{ call: 1, ret: 2, input: { op: 'read' }, output: 0 }])).toThrow(/not a string or number/);
  });
});

/** Exhaustive reference: tries every real-time-respecting order against a real Map. */
function bruteForce(history: KvOp[], initial: Map<string, Value>): boolean {
  const done = new Array<boolean>(history.length).fill(false);
  const apply = (m: Map<string, Value>, input: KvInput<Value>): KvOutput<Value> => {
    const before = m.get(input.key);
    if (input.op === 'get') return before;
    if (input.op === 'put') return m.set(input.key, input.value), before;
    if (input.op === 'delete') return m.delete(input.key);
    if (before !== input.expected) return { ok: false, current: before };
    m.set(input.key, input.value);
    return { ok: true };
  };
  const same = (a: KvOutput<Value>, b: KvOutput<Value>): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null) && (a === undefined) === (b === undefined);
  const search = (m: Map<string, Value>, count: number): boolean => {
    // Every answered op placed; unplaced pending ops take effect never.
    if (history.every((o, j) => done[j] || o.ret === undefined)) return true;
    for (let i = 0; i < history.length; i++) {
      if (done[i]) continue;
      const blocked = history.some((o, j) => !done[j] && j !== i && o.ret !== undefined && o.ret < history[i]!.call);
      if (blocked) continue;
      const next = new Map(m);
      const out = apply(next, history[i]!.input);
      if (history[i]!.ret !== undefined && !same(out, history[i]!.output!)) continue;
      done[i] = true;
      const found = search(next, count + 1);
      done[i] = false;
      if (found) return true;
    }
    return false;
  };
  return search(new Map(initial), 0);
}

describe('agreement with a brute-force checker', () => {
  it('on 1500 small random histories with pending ops and cas', () => {
    let accepted = 0;
    let rejected = 0;
    for (let seed = 1; seed <= 1500; seed++) {
      const rand = mulberry32(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const n = 1 + Math.floor(rand() * 6);
      const times = Array.from({ length: 2 * n }, (_, i) => i);
      for (let i = times.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [times[i], times[j]] = [times[j]!, times[i]!];
      }
      const values: readonly (Value | undefined)[] = [undefined, 1, 2];
      const h: KvOp[] = Array.from({ length: n }, (_, i) => {
        const [call, ret] = [times[2 * i]!, times[2 * i + 1]!].sort((a, b) => a - b) as [number, number];
        const key = pick(['a', 'b']);
        const r = rand();
        const input = r < 0.35 ? get(key) : r < 0.7 ? put(key, pick([1, 2])) : r < 0.85 ? del(key) : cas(key, pick(values), pick([1, 2]));
        if (rand() < 0.12) return pendingOp(i, call, input);
        const output: KvOutput<Value> =
          input.op === 'delete' ? rand() < 0.5 : input.op === 'cas' ? (rand() < 0.5 ? { ok: true } : { ok: false, current: pick(values) }) : pick(values);
        return op(i, call, ret, input, output);
      });
      const initial = new Map<string, Value>(rand() < 0.5 ? [['a', 1]] : []);
      const expected = bruteForce(h, initial);
      const r = checkLinearizable(kv(initial), h);
      expect(r.verdict, `seed ${seed}`).toBe(expected ? 'linearizable' : 'violation');
      if (r.verdict === 'violation') {
        // Every witness is itself a violation, and explains the culprit.
        expect(checkLinearizable(kv(initial), r.witness).verdict, `seed ${seed}`).toBe('violation');
        expect(r.witness).toContain(r.culprit);
      }
      if (expected) accepted++;
      else rejected++;
    }
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });

  it('the hashmap model is the kv model without cas', () => {
    const m = hashMapModel<Value>();
    const h: Operation<HashMapInput<Value>, HashMapOutput<Value>>[] = [
      { call: 1, ret: 2, input: { op: 'put', key: 'k', value: 1 }, output: undefined },
      { call: 3, ret: 4, input: { op: 'get', key: 'k' }, output: 1 },
      { call: 5, ret: 6, input: { op: 'delete', key: 'k' }, output: true },
    ];
    expect(checkLinearizable(m, h).verdict).toBe('linearizable');
    expect(checkLinearizable(m, [...h, { call: 7, ret: 8, input: { op: 'get', key: 'k' }, output: 1 }]).verdict).toBe('violation');
    expect(hashMapModel().name).toBe('hashmap');
  });
});
