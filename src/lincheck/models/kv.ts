/**
 * Key-value maps, partitioned by key (ops on different keys commute), each
 * key a register that may be absent (`undefined`).
 * - `kvModel`: get, put (returns the previous value, like KvStore.exchange),
 *   delete (returns whether the key existed) and compare-and-set by value
 *   (KvStore.compareAndSet: on failure it returns the value it found).
 * - `hashMapModel`: the same without cas, the semantics of the HashMap
 *   structure (node-replication/structures).
 */
import { LincheckError, type Model, type Operation } from '../types.js';
import { show } from '../values.js';
import { Interner, type Scalar } from './interner.js';

export type KvInput<V> =
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'put'; readonly key: string; readonly value: V }
  | { readonly op: 'delete'; readonly key: string }
  | { readonly op: 'cas'; readonly key: string; readonly expected: V | undefined; readonly value: V };

export type CasOutput<V> = { readonly ok: true } | { readonly ok: false; readonly current: V | undefined };

/** `get`: the value; `put`: the previous value; `delete`: whether it existed; `cas`: a CasOutput. */
export type KvOutput<V> = V | undefined | boolean | CasOutput<V>;

export type HashMapInput<V> = Exclude<KvInput<V>, { readonly op: 'cas' }>;
export type HashMapOutput<V> = V | undefined | boolean;

/** One recorded op of a KV history, and of a HashMap history. */
export type KvOperation<V> = Operation<KvInput<V>, KvOutput<V>>;
export type HashMapOperation<V> = Operation<HashMapInput<V>, HashMapOutput<V>>;

export interface KvModelOptions<V> {
  /** The map's contents before the history starts (default: empty). */
  readonly initial?: ReadonlyMap<string, V>;
}

/** The KV store's semantics; values compare with `===`. */
export function kvModel<V extends Scalar = string | number>(
  options: KvModelOptions<V> = {},
): Model<V | undefined, KvInput<V>, KvOutput<V>> {
  return mapModel('kv', options);
}

/** The HashMap structure's semantics (get, put, delete); values compare with `===`. */
export function hashMapModel<V extends Scalar = string | number>(
  options: KvModelOptions<V> = {},
): Model<V | undefined, HashMapInput<V>, HashMapOutput<V>> {
  // The same step function: a history of HashMapInput holds no cas, so no CasOutput arises.
  return mapModel('hashmap', options) as unknown as Model<V | undefined, HashMapInput<V>, HashMapOutput<V>>;
}

function mapModel<V extends Scalar>(name: string, options: KvModelOptions<V>): Model<V | undefined, KvInput<V>, KvOutput<V>> {
  if (typeof options !== 'object' || options === null) throw new LincheckError('ERR_LINCHECK_OPTIONS', `${name}Model: options must be an object`);
  for (const k of Object.keys(options)) {
    if (k !== 'initial') throw new LincheckError('ERR_LINCHECK_OPTIONS', `${name}Model: unknown option ${JSON.stringify(k)}`);
  }
  const initial = options.initial;
  if (initial !== undefined && !(initial instanceof Map)) {
    throw new LincheckError('ERR_LINCHECK_OPTIONS', `${name}Model: initial must be a Map`);
  }
  const values = new Interner<V>();
  return {
    name,
    init: undefined,
    partition: {
      key: (input) => input.key,
      init: (key) => initial?.get(key as string),
    },
    step(state, input) {
      switch (input.op) {
        case 'get':
          return { state, output: state };
        case 'put':
          return { state: input.value, output: state };
        case 'delete':
          return { state: undefined, output: state !== undefined };
        case 'cas':
          return state === input.expected
            ? { state: input.value, output: { ok: true } }
            : { state, output: { ok: false, current: state } };
        default:
          throw new LincheckError('ERR_LINCHECK_HISTORY', `${name}: unknown op ${show((input as { op: unknown }).op)}`);
      }
    },
    hash: (state) => values.id(state),
    readOnly: (input) => input.op === 'get',
    describe(input) {
      switch (input.op) {
        case 'get':
          return `get(${show(input.key)})`;
        case 'put':
          return `put(${show(input.key)}, ${show(input.value)})`;
        case 'delete':
          return `delete(${show(input.key)})`;
        default:
          return `cas(${show(input.key)}, ${show(input.expected)} -> ${show(input.value)})`;
      }
    },
  };
}
