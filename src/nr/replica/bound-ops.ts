/**
 * Ops bound to one replica: `replica.reads.get(key)`, `replica.writes.put(k, v)`.
 */
import type { OpArgs, OpResult } from '../structure.js';

/** A structure's read ops bound to one replica: `replica.reads.get(key)`. */
export type BoundReads<R> = { readonly [K in keyof R]: (...args: OpArgs<R[K]>) => OpResult<R[K]> };
/** A structure's write ops bound to one replica: `replica.writes.put(key, value)`. */
export type BoundWrites<W> = { readonly [K in keyof W]: (...args: OpArgs<W[K]>) => OpResult<W[K]> };

/** What a bound read touches on its replica: the typed view the generated code below is written against. */
export interface ReadTarget {
  /** Why the replica serves no more ops, or null. */
  readonly detachedError: Error | null;
  /** The position the local state reflects. */
  readonly ltail: number;
  /** The local state. */
  readonly state: unknown;
  /** Catch up to an observed CTAIL (recovering if need be). */
  readTo(ctail: number): void;
}

/**
 * The member names the generated code uses, checked against ReadTarget: a
 * rename there fails to compile here instead of breaking reads at run time.
 */
const M: { readonly [K in keyof ReadTarget]-?: K } = {
  detachedError: 'detachedError',
  ltail: 'ltail',
  state: 'state',
  readTo: 'readTo',
};

type ReadFactory = (
  replica: ReadTarget,
  fn: (state: never, ...args: unknown[]) => unknown,
  loadCtail: () => number,
) => (...args: unknown[]) => unknown;

/** Read ops with up to this many arguments get them as named parameters (bound-ops' fast path). */
const MAX_NAMED_ARGS = 6;

/**
 * Build one bound read op. Each op gets its own function literal (hence
 * `new Function`): V8 then specialises it to this one closure, so the wasm
 * atomic load and the op itself inline into the caller. A shared closure
 * literal measured ~35% slower on a Map.get read. The body is the read
 * protocol: observe ctail once, catch up to it, run the op locally.
 */
export function compileRead(
  replica: ReadTarget,
  fn: (state: never, ...args: unknown[]) => unknown,
  loadCtail: () => number,
): (...args: unknown[]) => unknown {
  // The op's declared arguments (after the state), at most 6: a call with
  // exactly that many passes them on as named parameters, one compare
  // instead of a switch on arguments.length; any other count (optional or
  // rest parameters) takes the spread path, so the op sees exactly what
  // the caller passed either way. (At most 3 until session 19: NrFS's
  // pread, 5 arguments, spread an array on every read.)
  const arity = Math.max(0, Math.min(MAX_NAMED_ARGS, fn.length - 1));
  const params = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5'].slice(0, arity);
  const factory = new Function(
    'replica',
    'fn',
    'loadCtail',
    `"use strict";
    return function boundRead(${params.join(', ')}) {
      if (replica.${M.detachedError} !== null) throw replica.${M.detachedError};
      const c = loadCtail();
      if (c !== replica.${M.ltail}) replica.${M.readTo}(c);
      if (arguments.length === ${arity}) return fn(${['replica.' + M.state, ...params].join(', ')});
      return fn(replica.${M.state}, ...arguments);
    };`,
  ) as ReadFactory;
  return factory(replica, fn, loadCtail);
}
