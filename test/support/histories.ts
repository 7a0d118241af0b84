/**
 * Histories recorded from real sequential executions, for testing the
 * checker: clients call an op, it takes effect on a real object (a Map, a
 * variable) at some later moment, and it returns later still, all on one
 * logical clock, so intervals overlap as the schedule decides. Such a
 * history is linearizable by construction (the order of effects is a
 * linearization). Every write writes a fresh value, so a read answering an
 * overwritten value is a guaranteed violation (see injectStaleRead).
 */
import type { CasOutput, KvInput, KvOutput, Operation, RegisterInput, RegisterOutput } from '../../src/lincheck/index.js';

/** A real sequential object: applies an input, returns its output. */
export interface Sequential<I, O> {
  apply(input: I): O;
}

/** One scheduler decision: advance `client`; `pick` and `key` choose a new op when it is idle. */
export type Step = readonly [client: number, pick: number, key: number];

export interface SimulateOptions<I, O> {
  clients: number;
  schedule: readonly Step[];
  object: Sequential<I, O>;
  /** A new op for an idle client; `fresh` is a value no other op writes. */
  nextInput(pick: number, key: number, fresh: number): I;
  /**
   * At the end: 'drain' finishes every op in flight; 'crash' leaves them
   * pending (those that took effect and those that did not).
   */
  end: 'drain' | 'crash';
  /** Clients that crash even when the others drain: their op in flight stays pending. */
  crashed?: ReadonlySet<number>;
}

export function simulate<I, O>(o: SimulateOptions<I, O>): Operation<I, O>[] {
  type Slot = { phase: 'idle' } | { phase: 'called'; call: number; input: I } | { phase: 'applied'; call: number; input: I; output: O };
  const slots: Slot[] = Array.from({ length: o.clients }, () => ({ phase: 'idle' }));
  const history: Operation<I, O>[] = [];
  let clock = 1;
  let fresh = 1;
  const advance = (c: number, pick: number, key: number): void => {
    const s = slots[c]!;
    if (s.phase === 'idle') slots[c] = { phase: 'called', call: clock++, input: o.nextInput(pick, key, fresh++) };
    else if (s.phase === 'called') slots[c] = { phase: 'applied', call: s.call, input: s.input, output: o.object.apply(s.input) };
    else {
      history.push({ client: c, input: s.input, call: s.call, ret: clock++, output: s.output });
      slots[c] = { phase: 'idle' };
    }
  };
  for (const [c, pick, key] of o.schedule) advance(c % o.clients, pick, key);
  slots.forEach((s, c) => {
    if (s.phase === 'idle') return;
    if (o.end === 'crash' || o.crashed?.has(c)) history.push({ client: c, input: s.input, call: s.call });
    else {
      if (s.phase === 'called') advance(c, 0, 0);
      advance(c, 0, 0);
    }
  });
  return history;
}

/** A real Map with the KV store's op semantics. */
export class RealKv implements Sequential<KvInput<number>, KvOutput<number>> {
  readonly map: Map<string, number>;
  constructor(initial?: ReadonlyMap<string, number>) {
    this.map = new Map(initial);
  }
  apply(input: KvInput<number>): KvOutput<number> {
    const before = this.map.get(input.key);
    switch (input.op) {
      case 'get':
        return before;
      case 'put':
        this.map.set(input.key, input.value);
        return before;
      case 'delete':
        return this.map.delete(input.key);
      case 'cas': {
        if (before !== input.expected) return { ok: false, current: before } satisfies CasOutput<number>;
        this.map.set(input.key, input.value);
        return { ok: true };
      }
    }
  }
}

/** A mix of get / put / delete / cas; a cas expects the key's current value half the time. */
export function kvInput(real: RealKv, keys: readonly string[], withCas = true) {
  return (pick: number, key: number, fresh: number): KvInput<number> => {
    const k = keys[key % keys.length]!;
    const r = pick % 100;
    if (r < 40) return { op: 'get', key: k };
    if (r < 70 || (!withCas && r < 90)) return { op: 'put', key: k, value: fresh };
    if (r < 80 || !withCas) return { op: 'delete', key: k };
    return { op: 'cas', key: k, expected: r < 90 ? real.map.get(k) : fresh - 1, value: fresh };
  };
}

/** A real variable with the register model's op semantics. */
export class RealRegister implements Sequential<RegisterInput<number>, RegisterOutput<number>> {
  constructor(public value: number) {}
  apply(input: RegisterInput<number>): RegisterOutput<number> {
    if (input.op === 'read') return this.value;
    if (input.op === 'write') {
      this.value = input.value;
      return undefined;
    }
    if (this.value !== input.expected) return false;
    this.value = input.value;
    return true;
  }
}

export function registerInput(real: RealRegister) {
  return (pick: number, _key: number, fresh: number): RegisterInput<number> => {
    const r = pick % 100;
    if (r < 45) return { op: 'read' };
    if (r < 75) return { op: 'write', value: fresh };
    return { op: 'cas', expected: r < 90 ? real.value : fresh - 1, value: fresh };
  };
}

/** How to read a history's ops for stale-read injection. */
export interface StaleReadView<I, O> {
  /** The partition an op belongs to. */
  key(input: I): string;
  isRead(input: I): boolean;
  /** The value this answered op wrote, if it wrote one (a failed cas wrote nothing). */
  written(input: I, output: O): number | undefined;
  /** Whether this answered op is a write (it changed or set the state). */
  isWrite(input: I, output: O): boolean;
  /** A read's output claiming value v. */
  readOutput(v: number): O;
}

/**
 * Makes one answered read return an overwritten value: it finds a write P of
 * value v, a later write W (called after P answered) and a read G called
 * after W answered, all on one key, and makes G return v. As only P ever
 * wrote v, G would have to come after P with no write in between, but W must
 * come between: no linearization exists. Returns undefined when the history
 * holds no such triple.
 */
export function injectStaleRead<I, O>(history: readonly Operation<I, O>[], view: StaleReadView<I, O>, choice: number): Operation<I, O>[] | undefined {
  const answered = history.map((op, i) => ({ op, i })).filter((x) => x.op.ret !== undefined);
  const candidates: { read: number; value: number }[] = [];
  for (const g of answered) {
    if (!view.isRead(g.op.input)) continue;
    const key = view.key(g.op.input);
    const value = staleValueFor(answered, view, key, g.op.call);
    if (value !== undefined) candidates.push({ read: g.i, value });
  }
  if (candidates.length === 0) return undefined;
  const { read, value } = candidates[choice % candidates.length]!;
  return history.map((op, i) => (i === read ? { ...op, output: view.readOutput(value) } : op));
}

/** A value written by some P that a write W called after P answered overwrote before `before`. */
function staleValueFor<I, O>(answered: readonly { op: Operation<I, O> }[], view: StaleReadView<I, O>, key: string, before: number): number | undefined {
  for (const { op: w } of answered) {
    if (view.key(w.input) !== key || !view.isWrite(w.input, w.output as O) || w.ret! >= before) continue;
    for (const { op: p } of answered) {
      if (p === w || view.key(p.input) !== key || p.ret! >= w.call) continue;
      const v = view.written(p.input, p.output as O);
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

export const kvStaleView: StaleReadView<KvInput<number>, KvOutput<number>> = {
  key: (input) => input.key,
  isRead: (input) => input.op === 'get',
  written: (input, output) =>
    input.op === 'put' || (input.op === 'cas' && (output as CasOutput<number>).ok) ? input.value : undefined,
  isWrite: (input, output) => input.op === 'put' || input.op === 'delete' || (input.op === 'cas' && (output as CasOutput<number>).ok),
  readOutput: (v) => v,
};

export const registerStaleView: StaleReadView<RegisterInput<number>, RegisterOutput<number>> = {
  key: () => 'register',
  isRead: (input) => input.op === 'read',
  written: (input, output) => (input.op === 'write' || (input.op === 'cas' && output === true) ? input.value : undefined),
  isWrite: (input, output) => input.op === 'write' || (input.op === 'cas' && output === true),
  readOutput: (v) => v,
};
