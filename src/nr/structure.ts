/**
 * The Dispatch contract: how a user describes a plain sequential structure
 * once, so the runtime can replicate it.
 *
 * - `create()` builds an empty state; it runs once in every replica.
 * - `reads` are functions `(state, ...args) => result` that must not mutate.
 * - `writes` are functions `(state, ...args) => result` that must be
 *   deterministic: no clock, no randomness, no iteration over state whose
 *   order could differ between replicas. Every replica applies every write
 *   in log order; the caller gets the result its own replica computed.
 * - `codecs` say how each write op's arguments become log bytes. A write op
 *   without one uses `v8Codec()`. The issuing replica applies the caller's
 *   own arguments and the others the decoded bytes, so a hand-written codec
 *   must round-trip exactly (OpWriter refuses out-of-range integers and lone
 *   surrogates), or set `applyDecoded: true`. It sets `arity` (the most
 *   arguments it carries), so that a call with more is an EncodeError:
 *   the issuer would apply arguments no other replica ever sees.
 * - `readCodecs` and `resultCodecs` are only for clients (threads without a
 *   replica): how read arguments travel to the node, and how any op's
 *   result travels back. Missing ones use node:v8 serialisation.
 *
 * Op names, argument tuples and result types flow from the definition to
 * `replica.read(...)` / `replica.write(...)` with no casts.
 */
import { type ArgsCodec, type ValueCodec, v8Codec, v8ValueCodec } from './codec.js';
import { ConfigError } from './errors.js';
import { checkKnownOptions } from './options.js';

/** Any op function of a structure whose state is `S`. */
export type OpFn<S> = (state: S, ...args: never) => unknown;
/** A table of op functions by name. */
export type OpTable<S> = { [name: string]: OpFn<S> };
/** The arguments a caller passes for op `F` (the state is supplied by the runtime). */
export type OpArgs<F> = F extends (state: never, ...args: infer A) => unknown ? A : never;
/** What op `F` returns to its caller. */
export type OpResult<F> = F extends (...args: never) => infer R ? R : never;

type AnyNever<A extends readonly unknown[]> = A extends readonly [infer H, ...infer T] ? ([H] extends [never] ? true : AnyNever<T>) : false;
/**
 * Ops whose parameters TypeScript could not infer (unannotated parameters
 * are contextually typed `never`) become this message type, so the compile
 * error says what to do instead of failing at every call site.
 */
export type AnnotatedOps<T> = {
  [K in keyof T]: AnyNever<OpArgs<T[K]>> extends true
    ? 'node-replication: annotate the parameters of this op, e.g. (state: Map<string, number>, key: string) => ...'
    : T[K];
};

export interface StructureSpec<S, R extends OpTable<S>, W extends OpTable<S>> {
  /** Identifies the structure: a handle only attaches to the same name and version. */
  name: string;
  version?: number;
  create(): S;
  reads: R;
  writes: W;
  codecs?: { [K in keyof W]?: ArgsCodec<OpArgs<W[K]>> };
  readCodecs?: { [K in keyof R]?: ArgsCodec<OpArgs<R[K]>> };
  resultCodecs?: { [K in keyof R]?: ValueCodec<OpResult<R[K]>> } & { [K in keyof W]?: ValueCodec<OpResult<W[K]>> };
  /** A string that is equal on two replicas iff their states are equal (tests, checks). */
  digest?(state: S): string;
  /**
   * State transfer to a fenced or joining replica. Defaults: node:v8
   * serialize / deserialize of the whole state. Override for speed or for
   * states v8 cannot clone (class instances lose their prototype). `pos` is
   * the log position the state reflects: a structure that authenticates its
   * snapshots can bind it (`restore` gets the position the snapshot was
   * announced at, taken from shared memory, to check against its own).
   */
  snapshot?(state: S, pos?: number): Uint8Array;
  restore?(bytes: Uint8Array, pos?: number): S;
}

/** A validated structure definition, ready to be replicated. */
export interface Structure<S, R extends OpTable<S>, W extends OpTable<S>> extends StructureSpec<S, R, W> {
  readonly version: number;
  /** Write op names in definition order; an op's index is its id in the log. */
  readonly writeNames: readonly (keyof W & string)[];
  /** @internal Write functions by op id. */
  readonly writeFns: readonly ((state: S, ...args: unknown[]) => unknown)[];
  /** @internal Codecs by op id. */
  readonly writeCodecs: readonly ArgsCodec<readonly unknown[]>[];
  /** @internal Op id by name (a prototype-free object: no inherited names). */
  readonly writeIds: { readonly [name: string]: number | undefined };
  /** Read op names in definition order; an op's index is its id in client requests. */
  readonly readNames: readonly (keyof R & string)[];
  /** @internal Read functions, argument codecs and result codecs by read op id. */
  readonly readFns: readonly ((state: S, ...args: unknown[]) => unknown)[];
  readonly readArgCodecs: readonly ArgsCodec<readonly unknown[]>[];
  readonly readResultCodecs: readonly ValueCodec<unknown>[];
  /** @internal Result codecs by write op id. */
  readonly writeResultCodecs: readonly ValueCodec<unknown>[];
  /** @internal Read op id by name. */
  readonly readIds: { readonly [name: string]: number | undefined };
  /** Hash of name, version and op names: two threads agree on it iff they agree on the shape. */
  readonly fingerprint: number;
}

/** The most write ops one structure may define (the op id is one byte in the log). */
export const MAX_WRITE_OPS = 255;

const SPEC_KEYS = ['name', 'version', 'create', 'reads', 'writes', 'codecs', 'readCodecs', 'resultCodecs', 'digest', 'snapshot', 'restore'];
/** A defined Structure's own fields: spreading one into a new spec (a new version) is fine; they are recomputed. */
const DERIVED_KEYS = ['writeNames', 'writeFns', 'writeCodecs', 'writeIds', 'readNames', 'readFns', 'readArgCodecs', 'readResultCodecs', 'writeResultCodecs', 'readIds', 'fingerprint'];

/** A hand-written codec's shape, checked once here rather than failing on the first op that uses it. */
function checkCodec(where: string, codec: unknown, valueCodec: boolean): void {
  if (codec === undefined) return;
  if (codec === null || typeof codec !== 'object') throw new ConfigError(`defineStructure: ${where} must be an object { encode, decode }, got ${codec === null ? 'null' : typeof codec}`);
  const c = codec as { encode?: unknown; decode?: unknown; arity?: unknown; applyDecoded?: unknown };
  if (typeof c.encode !== 'function' || typeof c.decode !== 'function') throw new ConfigError(`defineStructure: ${where} needs encode and decode functions`);
  if (valueCodec) return;
  if (c.arity !== undefined && !(Number.isSafeInteger(c.arity) && (c.arity as number) >= 0)) {
    throw new ConfigError(`defineStructure: ${where}.arity must be a non-negative integer (the most arguments the codec carries), got ${String(c.arity)}`);
  }
  if (c.applyDecoded !== undefined && typeof c.applyDecoded !== 'boolean') throw new ConfigError(`defineStructure: ${where}.applyDecoded must be a boolean`);
}

function checkOps(kind: 'reads' | 'writes', ops: unknown): void {
  if (ops === null || typeof ops !== 'object') throw new ConfigError(`defineStructure: \`${kind}\` must be an object of op functions`);
  for (const [name, fn] of Object.entries(ops)) {
    if (typeof fn !== 'function') throw new ConfigError(`defineStructure: ${kind}.${name} must be a function (state, ...args) => result, got ${typeof fn}`);
  }
}

export function defineStructure<S, R extends OpTable<S>, W extends OpTable<S>>(
  spec: StructureSpec<S, R, W> & { reads: AnnotatedOps<R>; writes: AnnotatedOps<W> },
): Structure<S, R, W> {
  if (spec === null || typeof spec !== 'object') throw new ConfigError('defineStructure needs a spec object { name, create, reads, writes, ... }');
  checkKnownOptions('defineStructure', spec, [...SPEC_KEYS, ...DERIVED_KEYS]);
  if (typeof spec.name !== 'string' || spec.name.length === 0) throw new ConfigError('structure needs a name');
  if (typeof spec.create !== 'function') throw new ConfigError('defineStructure: `create` must be a function () => state');
  checkOps('reads', spec.reads);
  checkOps('writes', spec.writes);
  for (const hook of ['digest', 'snapshot', 'restore'] as const) {
    if (spec[hook] !== undefined && typeof spec[hook] !== 'function') throw new ConfigError(`defineStructure: \`${hook}\` must be a function`);
  }
  const version = spec.version ?? 1;
  if (!Number.isInteger(version) || version < 0) throw new ConfigError('structure version must be a non-negative integer');
  const writeNames = Object.keys(spec.writes) as (keyof W & string)[];
  if (writeNames.length > MAX_WRITE_OPS) throw new ConfigError(`at most ${MAX_WRITE_OPS} write ops per structure`);
  for (const name of Object.keys(spec.reads)) {
    if (Object.hasOwn(spec.writes, name)) throw new ConfigError(`op '${name}' is both a read and a write`);
  }
  const codecs = (spec.codecs ?? {}) as Record<string, ArgsCodec<readonly unknown[]> | undefined>;
  for (const name of Object.keys(codecs)) {
    if (!Object.hasOwn(spec.writes, name)) throw new ConfigError(`codec given for unknown write op '${name}'`);
    checkCodec(`codecs.${name}`, codecs[name], false);
  }
  const writeFns = writeNames.map((n) => spec.writes[n] as unknown as (state: S, ...args: unknown[]) => unknown);
  const writeCodecs = writeNames.map((n) => codecs[n] ?? v8Codec<readonly unknown[]>());
  const writeIds = Object.assign(Object.create(null) as Record<string, number>, Object.fromEntries(writeNames.map((n, i) => [n, i])));
  const readNames = Object.keys(spec.reads) as (keyof R & string)[];
  if (readNames.length > MAX_WRITE_OPS) throw new ConfigError(`at most ${MAX_WRITE_OPS} read ops per structure`);
  const readCodecs = (spec.readCodecs ?? {}) as Record<string, ArgsCodec<readonly unknown[]> | undefined>;
  const resultCodecs = (spec.resultCodecs ?? {}) as Record<string, ValueCodec<unknown> | undefined>;
  for (const name of Object.keys(readCodecs)) {
    if (!Object.hasOwn(spec.reads, name)) throw new ConfigError(`read codec given for unknown read op '${name}'`);
    checkCodec(`readCodecs.${name}`, readCodecs[name], false);
  }
  for (const name of Object.keys(resultCodecs)) {
    if (!Object.hasOwn(spec.reads, name) && !Object.hasOwn(spec.writes, name)) {
      throw new ConfigError(`result codec given for unknown op '${name}'`);
    }
    checkCodec(`resultCodecs.${name}`, resultCodecs[name], true);
  }
  const readFns = readNames.map((n) => spec.reads[n] as unknown as (state: S, ...args: unknown[]) => unknown);
  const readArgCodecs = readNames.map((n) => readCodecs[n] ?? v8Codec<readonly unknown[]>());
  const readResultCodecs = readNames.map((n) => resultCodecs[n] ?? v8ValueCodec<unknown>());
  const writeResultCodecs = writeNames.map((n) => resultCodecs[n] ?? v8ValueCodec<unknown>());
  const readIds = Object.assign(Object.create(null) as Record<string, number>, Object.fromEntries(readNames.map((n, i) => [n, i])));
  const shape = `${spec.name}@${version}|w:${writeNames.join(',')}|r:${Object.keys(spec.reads).join(',')}`;
  return Object.freeze({
    ...spec,
    version,
    writeNames,
    writeFns,
    writeCodecs,
    writeIds,
    readNames,
    readFns,
    readArgCodecs,
    readResultCodecs,
    writeResultCodecs,
    readIds,
    fingerprint: fnv1a(shape),
  });
}

/** 32-bit FNV-1a of a string's UTF-16 units. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}
