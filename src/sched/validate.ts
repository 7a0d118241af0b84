/**
 * Call-site checks of every argument that reaches the log. The issuing
 * replica applies its caller's values while the others apply what the
 * codecs decoded, so a value the codec cannot carry exactly (a non-integer
 * or out-of-range u32/i32, a lone surrogate) would make the replicas
 * diverge: each check here admits exactly what its codec carries, and
 * throws a typed error (nothing written) for anything else. Options objects
 * are checked for unknown keys too.
 */
import { BadArgumentError, NegativeCapacityError, UnknownKindError } from './errors.js';

export const U32_MAX = 2 ** 32 - 1;
export const I32_MAX = 2 ** 31 - 1;

/** An integer in [min, max], or BadArgumentError naming `what`. */
export function integerIn(v: unknown, min: number, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new BadArgumentError(`${what} must be an integer in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

/** A finite number >= min (f64 in the codecs: carried exactly). */
export function finiteAtLeast(v: unknown, min: number, what: string, strict = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (strict && v === min)) {
    throw new BadArgumentError(`${what} must be a finite number ${strict ? '>' : '>='} ${min}, got ${describe(v)}`);
  }
  return v;
}

/** An await bound in ms: finite, >= 0, at most what a timer can wait (2^31-1 ms). */
export function timeoutMs(v: unknown): number {
  const ms = finiteAtLeast(v, 0, 'timeoutMs');
  if (ms > I32_MAX) throw new BadArgumentError(`timeoutMs must be at most ${I32_MAX}, got ${ms}`);
  return ms;
}

/** A worker id (i32 in the codecs; ids are assigned from 1). */
export const workerId = (v: unknown): number => integerIn(v, 0, I32_MAX, 'worker id');
/** A task id (f64 in the codecs: any safe integer). */
export const taskId = (v: unknown): number => integerIn(v, 0, Number.MAX_SAFE_INTEGER, 'task id');
/** An attempt number, the lease token (u32 in the codecs). */
export const attemptNo = (v: unknown): number => integerIn(v, 1, U32_MAX, 'attempt');

export function capacity(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > I32_MAX) throw new NegativeCapacityError(v);
  return v;
}

/** `o` is undefined or a plain options object with no key outside `known`. */
const NO_OPTIONS = Object.freeze({});
export function options<T extends object>(o: T | undefined, known: readonly string[], what: string): Partial<T> {
  if (o === undefined) return NO_OPTIONS;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new BadArgumentError(`${what} options must be an object`);
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new BadArgumentError(`unknown ${what} option ${JSON.stringify(k)} (known: ${known.join(', ')})`);
  // No option takes null: read as "the default" it would hide a caller's bug.
  for (const [k, v] of Object.entries(o)) if (v === null) throw new BadArgumentError(`${what} option '${k}' is null (leave it out, or undefined, for the default)`);
  return o;
}

function describe(v: unknown): string {
  return typeof v === 'number' ? String(v) : typeof v;
}

/**
 * A runner's handlers checked against the scheduler's kinds; returns the kinds it handles.
 * Handlers inherited (a class instance's methods) would be ignored: the runner would join and never
 * claim their kinds, whose tasks would wait for ever. (No handler at all is a runner that only ticks the clock.)
 */
export function handlerKinds(schedKinds: readonly string[], handlers: unknown): string[] {
  if (handlers === null || typeof handlers !== 'object') throw new BadArgumentError('handlers must be an object of functions by kind');
  const kinds = Object.keys(handlers);
  const inherited = schedKinds.filter((k) => !Object.hasOwn(handlers, k) && typeof (handlers as Record<string, unknown>)[k] === 'function');
  if (inherited.length > 0) {
    throw new BadArgumentError(`handlers must be own properties: ${inherited.join(', ')} ${inherited.length === 1 ? 'is' : 'are'} inherited (a class instance's methods?); pass { ${inherited[0]}: ... }`);
  }
  for (const k of kinds) {
    if (!schedKinds.includes(k)) throw new UnknownKindError(k);
    if (typeof (handlers as Record<string, unknown>)[k] !== 'function') throw new BadArgumentError(`handler for ${k} is not a function`);
  }
  return kinds;
}
