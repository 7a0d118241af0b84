/**
 * A one-key read on parallel logs under the key-hash mapper, compiled: the
 * read protocol of bound-ops.ts on the replica of the key's log.
 *
 * Each log's replica and CTAIL loader is its own constant at its own call
 * site (a `switch` over the log index), so TurboFan inlines each wasm
 * wrapper, as on one log. Through an array of loaders the call site sees K
 * distinct wasm functions and takes the generic JS-to-wasm call.
 */
import type { ReadTarget } from '../replica/bound-ops.js';
import type { WordLoader } from '../shared-memory.js';
import { keyHash } from './mapper.js';

/** What the read ticks on its view: every so many routed ops the view tends its other logs. */
export interface TendingView {
  tendIn: number;
  tend(): void;
}

type ReadFn = (state: never, a: unknown) => unknown;

/**
 * The keyed read of `fn` over `parts` (replica i of log i) and their CTAIL
 * loaders (one case per log: at most LIMITS.maxLogs, 16). A call with other
 * than one argument (a read with optional or rest parameters past its key)
 * goes to `other`, with every argument.
 */
export function compileKeyedRead(view: TendingView, parts: readonly ReadTarget[], loads: readonly WordLoader[], fn: ReadFn, other: (...args: unknown[]) => unknown): (a: unknown) => unknown {
  const logs = parts.length;
  const cases = parts.map((_, i) => (i === logs - 1 ? `default: r = p${i}; c = l${i}();` : `case ${i}: r = p${i}; c = l${i}(); break;`)).join('\n        ');
  const names = parts.flatMap((_, i) => [`p${i}`, `l${i}`]);
  const factory = new Function(
    'view',
    'keyHash',
    'fn',
    'other',
    ...names,
    `"use strict";
    return function keyedRead(a) {
      if (arguments.length !== 1) return other.apply(undefined, arguments);
      if (--view.tendIn === 0) view.tend();
      let r, c;
      switch (keyHash(a) % ${logs}) {
        ${cases}
      }
      if (r.detachedError !== null) throw r.detachedError;
      if (c !== r.ltail) r.readTo(c);
      return fn(r.state, a);
    };`,
  ) as (...args: unknown[]) => (a: unknown) => unknown;
  return factory(view, keyHash, fn, other, ...parts.flatMap((p, i) => [p, loads[i]]));
}
