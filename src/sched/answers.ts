/**
 * How the node answers a client runner (client.ts): the result codecs of
 * the ops and reads a runner sends, and the argument codecs of its reads.
 * A replica's own ops never use them (it reads its apply's result object);
 * without them a client's answer would go through v8 serialisation, which
 * for a claim of 64 tasks costs more than the claim's apply.
 *
 * A claim's answer carries each task's id, attempt, kind (its index in the
 * kind list) and packed payload: what a runner needs to start it, not the
 * task record. Its size is bounded by the claim's `maxBytes` (claim.ts),
 * computed with sizes.ts, so it always fits the client's slot.
 */
import { noArgsCodec, type ArgsCodec, type OpReader, type OpWriter, type ValueCodec } from '../nr/index.js';
import { readPacked, writePacked } from './codecs.js';
import type { OutcomeCode } from './errors.js';
import type { Packed } from './sizes.js';
import type { Claimed, ClaimedRecord, Effects } from './state.js';

const NONE: readonly number[] = Object.freeze([]);

/**
 * A count read from the client slot, checked against the bytes left (each
 * item takes at least `minBytes`): a forged count is a RangeError here, not
 * an array of billions allocated before the reads run past the answer.
 */
function readCount(r: OpReader, minBytes: number, what: string): number {
  const n = r.u32();
  if (n * minBytes > r.remaining) throw new RangeError(`a ${what} answer counts ${n} items but holds ${r.remaining} bytes`);
  return n;
}

function writeEffects(w: OpWriter, e: Effects<unknown>): void {
  w.u8(e.work ? 1 : 0);
  w.u32(e.wake.length);
  for (const s of e.wake) w.i32(s);
}

function readEffects<T>(r: OpReader, value: T): Effects<T> {
  const work = r.u8() === 1;
  const n = readCount(r, 4, 'wake list');
  let wake = NONE;
  if (n > 0) {
    const list = new Array<number>(n);
    for (let i = 0; i < n; i++) list[i] = r.i32();
    wake = list;
  }
  return { value, wake, work };
}

/** Effects around a value written by `value` (after the effects, read first into a holder). */
function effectsCodec<T>(write: (w: OpWriter, v: T) => void, read: (r: OpReader) => T): ValueCodec<Effects<T>> {
  return {
    encode(w, e) {
      writeEffects(w, e);
      write(w, e.value);
    },
    decode(r) {
      const head = readEffects(r, null);
      return { value: read(r), wake: head.wake, work: head.work };
    },
  };
}

const codes = effectsCodec<OutcomeCode[]>(
  (w, v) => {
    w.u32(v.length);
    for (const c of v) w.u8(c);
  },
  (r) => {
    const n = readCount(r, 1, 'outcome');
    const out = new Array<OutcomeCode>(n);
    for (let i = 0; i < n; i++) out[i] = r.u8() as OutcomeCode;
    return out;
  },
);
const code = effectsCodec<OutcomeCode>((w, v) => w.i32(v), (r) => r.i32() as OutcomeCode);
const id = effectsCodec<number>((w, v) => w.i32(v), (r) => r.i32());
const nothing = effectsCodec<null>(() => {}, () => null);

function claimAnswer(kinds: readonly string[]): ValueCodec<Effects<Claimed>> {
  const index = new Map(kinds.map((k, i) => [k, i]));
  return effectsCodec<Claimed>(
    (w, c) => {
      w.f64(c.leaseUntil);
      w.u32(c.tasks.length);
      for (let i = 0; i < c.tasks.length; i++) {
        const t = c.tasks[i]!;
        w.f64(t.id);
        w.u32(c.attempts[i]!);
        w.u32(index.get(t.kind)!);
        writePacked(w, t.payload as Packed);
      }
    },
    (r) => {
      const leaseUntil = r.f64();
      // id, attempt, kind and at least a packed value's tag.
      const n = readCount(r, 8 + 4 + 4 + 1, 'claim');
      const tasks = new Array<ClaimedRecord>(n);
      const attempts = new Array<number>(n);
      for (let i = 0; i < n; i++) {
        const id = r.f64();
        attempts[i] = r.u32();
        const kind = kinds[r.u32()];
        if (kind === undefined) throw new RangeError('a claim answer names a kind index outside the kind list');
        tasks[i] = { id, kind, payload: readPacked(r) };
      }
      return { tasks, attempts, leaseUntil };
    },
  );
}

const f64: ValueCodec<number> = { encode: (w, v) => w.f64(v), decode: (r) => r.f64() };
const workerArg: ArgsCodec<[number]> = { encode: (w, worker) => w.i32(worker), decode: (r) => [r.i32()], arity: 1 };

/** The scheduler structure's `resultCodecs` and `readCodecs` (for clients only). */
export function answerCodecs(kinds: readonly string[]) {
  return {
    resultCodecs: {
      claim: claimAnswer(kinds),
      finish: codes,
      renew: codes,
      cancel: codes,
      join: id,
      leave: code,
      drain: code,
      setCapacity: code,
      tick: nothing,
      release: nothing,
      workerRoom: f64,
      nextDue: f64,
    },
    readCodecs: { workerRoom: workerArg, nextDue: noArgsCodec },
  };
}
