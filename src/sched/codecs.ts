/**
 * Binary log codecs for the scheduler's hot ops (submit, claim, finish,
 * renew, release), and the packed form of payloads and results.
 *
 * A payload or result travels packed: a primitive (number, string, boolean,
 * null, undefined) as itself, anything else as its v8 serialisation (a
 * Uint8Array; a user's own Uint8Array is serialised too, so a packed
 * Uint8Array always means "v8 bytes"). A string that is not well-formed
 * UTF-16 (a lone surrogate) goes as v8 bytes too: the log's UTF-8 would turn
 * it into U+FFFD on the replicas that decode it, while the issuing replica
 * kept the original. Packing runs once at the call site, so an uncloneable
 * value fails there, before anything is written.
 *
 * Every number these codecs write in a narrower form than f64 (u32, i32) is
 * range-checked at the call site (scheduler.ts, runner.ts), so the issuing
 * replica, which applies its own arguments, and the others, which apply the
 * decoded ones, always apply the same values.
 */
import { deserialize, serialize } from 'node:v8';
import type { ArgsCodec, OpReader, OpWriter } from '../nr/index.js';
import type { FailCodeValue } from './errors.js';
import { newTaskRecord, type Completion, type TaskSpec } from './state.js';
import type { Packed } from './sizes.js';
export { packedBytes, SPEC_BYTES, COMPLETION_BYTES, RENEW_ITEM_BYTES, type Packed } from './sizes.js';

/** Throws what v8.serialize throws for an uncloneable value. */
export function packValue(v: unknown): Packed {
  switch (typeof v) {
    case 'string':
      return v.isWellFormed() ? v : serialize(v);
    case 'number':
    case 'boolean':
    case 'undefined':
      return v;
    default:
      return v === null ? null : serialize(v);
  }
}

export function unpackValue(p: unknown): unknown {
  return p instanceof Uint8Array ? deserialize(p) : p;
}

/** A finish item's tag: 1 success, 0 failure (retried), FINAL_BASE + FailCode: failure that is not retried. */
const FINAL_BASE = 16;

const T_BYTES = 0;
const T_I32 = 1;
const T_F64 = 2;
const T_STR = 3;
const T_NULL = 4;
const T_UNDEF = 5;
const T_FALSE = 6;
const T_TRUE = 7;

export function writePacked(w: OpWriter, v: Packed): void {
  if (typeof v === 'number') {
    if ((v | 0) === v && !Object.is(v, -0)) {
      w.u8(T_I32);
      w.i32(v);
    } else {
      w.u8(T_F64);
      w.f64(v);
    }
  } else if (typeof v === 'string') {
    w.u8(T_STR);
    w.str(v);
  } else if (v === null) w.u8(T_NULL);
  else if (v === undefined) w.u8(T_UNDEF);
  else if (v === true) w.u8(T_TRUE);
  else if (v === false) w.u8(T_FALSE);
  else {
    w.u8(T_BYTES);
    w.bytesWithLength(v);
  }
}

export function readPacked(r: OpReader): Packed {
  switch (r.u8()) {
    case T_I32:
      return r.i32();
    case T_F64:
      return r.f64();
    case T_STR:
      return r.str();
    case T_NULL:
      return null;
    case T_UNDEF:
      return undefined;
    case T_TRUE:
      return true;
    case T_FALSE:
      return false;
    default:
      return r.bytesWithLength();
  }
}

/** The kind a logged index names; an index outside the list is a corrupt entry (the replica fails stop), never an `undefined` kind. */
function kindAt(kinds: readonly string[], index: number): string {
  const kind = kinds[index];
  if (kind === undefined) throw new RangeError(`sched submit entry names kind index ${index}, but the scheduler has ${kinds.length} kinds`);
  return kind;
}

/** submit(submitter, specs, now); kinds travel as their index in the scheduler's kind list. */
export function submitCodec(kinds: readonly string[]): ArgsCodec<[number, TaskSpec[], number]> {
  const index = new Map(kinds.map((k, i) => [k, i]));
  return {
    encode(w, submitter, specs, now) {
      w.i32(submitter);
      w.f64(now);
      w.u32(specs.length);
      for (const s of specs) {
        w.u32(index.get(s.kind)!);
        w.f64(s.priority ?? 0);
        w.f64(s.deadline ?? -1);
        w.u32(s.maxAttempts ?? 3);
        w.f64(s.backoffMs ?? 10);
        writePacked(w, s.payload as Packed);
      }
    },
    decode(r) {
      const submitter = r.i32();
      const now = r.f64();
      const n = r.u32();
      const specs: TaskSpec[] = new Array<TaskSpec>(n);
      // Decoded straight into fresh task records, which the submit apply adopts (ops.ts).
      for (let i = 0; i < n; i++) {
        const kind = kindAt(kinds, r.u32());
        const priority = r.f64();
        const deadline = r.f64();
        const maxAttempts = r.u32();
        const backoffMs = r.f64();
        specs[i] = newTaskRecord(kind, readPacked(r), priority, deadline, maxAttempts, backoffMs);
      }
      return [submitter, specs, now];
    },
    arity: 3,
  };
}

/** claim(worker, n, leaseMs, now, maxBytes?): an absent answer bound travels as Infinity, which the apply's default is. */
export const claimCodec: ArgsCodec<[number, number, number, number, number?]> = {
  encode(w, worker, n, leaseMs, now, maxBytes) {
    w.i32(worker);
    w.i32(n);
    w.f64(leaseMs);
    w.f64(now);
    w.f64(maxBytes ?? Infinity);
  },
  decode: (r) => [r.i32(), r.i32(), r.f64(), r.f64(), r.f64()],
  arity: 5,
};

export const finishCodec: ArgsCodec<[number, Completion[], number]> = {
  encode(w, worker, items, now) {
    w.i32(worker);
    w.f64(now);
    w.u32(items.length);
    for (const it of items) {
      w.f64(it.id);
      w.u32(it.attempt);
      if (it.ok) {
        w.u8(1);
        writePacked(w, it.result as Packed);
      } else {
        w.u8(it.final === undefined ? 0 : FINAL_BASE + it.final);
        w.str(it.error ?? 'failed');
      }
    }
  },
  decode(r) {
    const worker = r.i32();
    const now = r.f64();
    const n = r.u32();
    const items: Completion[] = new Array<Completion>(n);
    for (let i = 0; i < n; i++) {
      const id = r.f64();
      const attempt = r.u32();
      const tag = r.u8();
      if (tag === 1) items[i] = { id, attempt, ok: true, result: readPacked(r) };
      else if (tag === 0) items[i] = { id, attempt, ok: false, error: r.str() };
      else items[i] = { id, attempt, ok: false, final: (tag - FINAL_BASE) as FailCodeValue, error: r.str() };
    }
    return [worker, items, now];
  },
  arity: 3,
};

export const renewCodec: ArgsCodec<[number, { id: number; attempt: number }[], number, number]> = {
  encode(w, worker, items, leaseMs, now) {
    w.i32(worker);
    w.f64(leaseMs);
    w.f64(now);
    w.u32(items.length);
    for (const it of items) {
      w.f64(it.id);
      w.u32(it.attempt);
    }
  },
  decode(r) {
    const worker = r.i32();
    const leaseMs = r.f64();
    const now = r.f64();
    const n = r.u32();
    const items = new Array<{ id: number; attempt: number }>(n);
    for (let i = 0; i < n; i++) items[i] = { id: r.f64(), attempt: r.u32() };
    return [worker, items, leaseMs, now];
  },
  arity: 4,
};

export const releaseCodec: ArgsCodec<[number, number, boolean, number]> = {
  encode(w, submitter, upto, retain, now) {
    w.i32(submitter);
    w.f64(upto);
    w.u8(retain ? 1 : 0);
    w.f64(now);
  },
  decode: (r) => [r.i32(), r.f64(), r.u8() === 1, r.f64()],
  arity: 4,
};
