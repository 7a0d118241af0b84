/**
 * A replicated hash map with string or number keys and string or number
 * values: the structure behind the `hashmap` benchmark. Its writes use a
 * hand-written binary codec, so a put of two numbers or of a short string
 * key allocates nothing on the encode side and only the key string on decode.
 */
import { type ArgsCodec, noArgsCodec, type OpReader, type OpWriter, type ValueCodec } from '../codec.js';
import { DecodeError } from '../errors.js';
import { defineStructure } from '../structure.js';
import { keyHashMapper, withLogMapper } from '../cnr/mapper.js';

export type Key = string | number;
export type Value = string | number;

const F64 = 0;
const STR = 1;
const I32 = 2;
const UNDEFINED = 3;

// Decoders return reused tuples: the runtime applies each op before decoding the next.
const putArgs: [Key, Value] = [0, 0];
const keyArgs: [Key] = [0];

function writeScalar(w: OpWriter, v: Key): void {
  // Integers travel as int32 so replicas decode them as small integers,
  // not boxed doubles: a map of boxed keys costs memory and cache misses
  // (and the issuing replica, which applies the original args, has Smis).
  // The other kinds are a call of their own: this stays small enough to
  // inline twice into an op's encode (callgrind, bench/sync-write-cost.mjs
  // batch: 1186-1200 -> 1118 instructions per put).
  if (typeof v === 'number' && (v | 0) === v && !Object.is(v, -0)) w.tagI32(I32, v);
  else writeOther(w, v);
}

function writeOther(w: OpWriter, v: Key): void {
  if (typeof v === 'number') {
    w.u8(F64);
    w.f64(v);
  } else if (typeof v === 'string') {
    w.u8(STR);
    w.str(v);
  } else {
    throw new TypeError(`expected a string or number, got ${typeof v}`);
  }
}

function readScalar(r: OpReader): Key {
  return readTagged(r, r.u8());
}

function readTagged(r: OpReader, tag: number): Key {
  if (tag === I32) return r.i32();
  if (tag === F64) return r.f64();
  if (tag === STR) return r.str();
  // The bytes are shared memory: a forged tag is an error, not a string.
  throw new DecodeError(`op bytes do not decode: a hashmap scalar has tag ${tag}`);
}

/** Results for clients: a value or undefined, a boolean, a count, nothing. */
const maybeValue: ValueCodec<Value | undefined> = {
  encode(w, v) {
    if (v === undefined) w.u8(UNDEFINED);
    else writeScalar(w, v);
  },
  decode(r) {
    const tag = r.u8();
    return tag === UNDEFINED ? undefined : readTagged(r, tag);
  },
};
const bool: ValueCodec<boolean> = { encode: (w, v) => w.u8(v ? 1 : 0), decode: (r) => r.u8() === 1 };
const count: ValueCodec<number> = { encode: (w, v) => w.f64(v), decode: (r) => r.f64() };
const nothing: ValueCodec<void> = { encode() {}, decode() {} };
const keyCodec: ArgsCodec<[Key]> = {
  encode(w, key) {
    writeScalar(w, key);
  },
  decode(r) {
    keyArgs[0] = readScalar(r);
    return keyArgs;
  },
  arity: 1,
};


export const HashMap = defineStructure({
  name: 'nr.hashmap',
  version: 1,
  create: () => new Map<Key, Value>(),
  reads: {
    get: (m: Map<Key, Value>, key: Key): Value | undefined => m.get(key),
    has: (m: Map<Key, Value>, key: Key): boolean => m.has(key),
    size: (m: Map<Key, Value>): number => m.size,
  },
  writes: {
    /** Returns the previous value. */
    put: (m: Map<Key, Value>, key: Key, value: Value): Value | undefined => {
      const prev = m.get(key);
      m.set(key, value);
      return prev;
    },
    /** Returns whether the key existed. */
    delete: (m: Map<Key, Value>, key: Key): boolean => m.delete(key),
    clear: (m: Map<Key, Value>): void => m.clear(),
  },
  codecs: {
    put: {
      encode(w, key, value) {
        writeScalar(w, key);
        writeScalar(w, value);
      },
      decode(r) {
        putArgs[0] = readScalar(r);
        putArgs[1] = readScalar(r);
        return putArgs;
      },
      arity: 2,
    },
    delete: keyCodec,
    clear: noArgsCodec,
  },
  readCodecs: { get: keyCodec, has: keyCodec, size: noArgsCodec },
  resultCodecs: { get: maybeValue, has: bool, size: count, put: maybeValue, delete: bool, clear: nothing },
  digest: (m) => digestEntries(m),
});

/** Order-independent digest of a map: sorted entries, hashed. */
export function digestEntries(m: Map<Key, Value>): string {
  const entries = [...m.entries()].map(([k, v]) => `${typeof k}:${k}=${typeof v}:${v}`).sort();
  return `${m.size}:${fnvHex(entries.join('\n'))}`;
}

function fnvHex(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * The hashmap on parallel logs: get, has, put and delete go to the log of
 * their key's hash (ops on different keys commute); size and clear touch
 * every key, so they go to every log (size sums the partitions' sizes).
 */
export const HashMapCnr = withLogMapper(HashMap, keyHashMapper({ all: ['size', 'clear'], combine: { size: (sizes) => (sizes as number[]).reduce((a, b) => a + b, 0) } }));
