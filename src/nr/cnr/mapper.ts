/**
 * Log mappers (the Rust crate's cnr `LogMapper`): which of a handle's
 * parallel logs an op goes to. Ops that may be reordered may map to
 * different logs; ops that conflict must map to the same log; an op that
 * depends on every log's part of the state (a size, a clear) maps to `'all'`.
 *
 * With parallel logs each log's replica holds the part of the state its
 * ops touch (its partition): an op mapped to log i runs on partition i only,
 * and an `'all'` op runs on every partition, its per-partition results
 * combined by `combine[op]` (default: partition 0's result).
 */
import { ConfigError, LogMapperError } from '../errors.js';
import { checkKnownOptions } from '../options.js';
import type { OpTable, Structure } from '../structure.js';

/** The answer of a mapper: a log index, or every log. */
export type LogChoice = number | 'all';

export interface LogMapper {
  /** The log for op `op` (read or write) called with `args`, among `logs` logs: an integer in [0, logs) or 'all'. Must be deterministic. */
  map(op: string, args: readonly unknown[], logs: number): LogChoice;
  /** How the per-partition results of an op mapped to 'all' become its result (default: partition 0's). */
  combine?: { [op: string]: (results: unknown[]) => unknown };
}

/** A structure with a log mapper: what createCnrHandle and attachCnr take. */
export interface CnrStructure<S, R extends OpTable<S>, W extends OpTable<S>> {
  readonly kind: 'cnr-structure';
  readonly structure: Structure<S, R, W>;
  readonly mapper: LogMapper;
}

/** Declare a structure's log mapper. */
export function withLogMapper<S, R extends OpTable<S>, W extends OpTable<S>>(structure: Structure<S, R, W>, mapper: LogMapper): CnrStructure<S, R, W> {
  if (!structure || typeof structure.fingerprint !== 'number') throw new ConfigError('withLogMapper needs a structure made by defineStructure()');
  if (mapper === null || typeof mapper !== 'object' || typeof mapper.map !== 'function') throw new ConfigError('a log mapper needs map(op, args, logs) => log index or "all"');
  for (const k of Object.keys(mapper)) if (k !== 'map' && k !== 'combine') throw new ConfigError(`unknown log mapper field '${k}'`);
  if (mapper.combine !== undefined && (mapper.combine === null || typeof mapper.combine !== 'object')) throw new ConfigError('log mapper combine must be an object { op: (results) => result }');
  for (const op of keyedAll(mapper) ?? []) {
    if (structure.readIds[op] === undefined && structure.writeIds[op] === undefined) throw new ConfigError(`keyHashMapper: all names unknown op '${op}'`);
  }
  for (const [op, fn] of Object.entries(mapper.combine ?? {})) {
    if (structure.readIds[op] === undefined && structure.writeIds[op] === undefined) throw new ConfigError(`log mapper combine given for unknown op '${op}'`);
    if (typeof fn !== 'function') throw new ConfigError(`log mapper combine.${op} must be a function (results) => result`);
  }
  return Object.freeze({ kind: 'cnr-structure' as const, structure, mapper });
}

/** Validated mapper output: a log index, or -1 for every log. Throws LogMapperError with nothing written. */
export function route(mapper: LogMapper, op: string, args: readonly unknown[], logs: number): number {
  let choice: unknown;
  try {
    choice = mapper.map(op, args, logs);
  } catch (e) {
    throw new LogMapperError(`the log mapper threw for op '${op}': ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (choice === 'all') return -1;
  if (typeof choice !== 'number' || !Number.isInteger(choice) || choice < 0 || choice >= logs) {
    throw new LogMapperError(`the log mapper mapped op '${op}' to ${typeof choice === 'number' ? choice : typeof choice === 'string' ? `'${choice}'` : typeof choice}, not a log index from 0 to ${logs - 1} or 'all'`);
  }
  return choice;
}

/** A deterministic hash of a string or number key (equal keys, equal hashes, in every thread). */
export function keyHash(key: unknown): number {
  if (typeof key === 'number') {
    if ((key | 0) === key) return Math.imul(key ^ (key >>> 16), 0x45d9f3b) >>> 0;
    const s = String(key);
    return fnv(s);
  }
  if (typeof key === 'string') return fnv(key);
  throw new LogMapperError(`a key-hash log mapper needs a string or number key, got ${key === null ? 'null' : typeof key}`);
}

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A mapper by the hash of the op's first argument (its key): ops on the same
 * key share a log, ops on different keys may run in parallel logs. The ops
 * named in `all` take no key and go to every log.
 */
export function keyHashMapper(options: { all?: readonly string[]; combine?: LogMapper['combine'] } = {}): LogMapper {
  checkKnownOptions('keyHashMapper', options, ['all', 'combine']);
  if (options.all !== undefined && (!Array.isArray(options.all) || !options.all.every((op) => typeof op === 'string'))) {
    throw new ConfigError('keyHashMapper: all must be an array of op names');
  }
  const all = new Set(options.all ?? []);
  const mapper: LogMapper = {
    map: (op, args, logs) => (all.has(op) ? 'all' : keyHash(args[0]) % logs),
  };
  if (options.combine !== undefined) mapper.combine = options.combine;
  // Lets a view route the key ops of this mapper without calling it (same answer, no argument array).
  Object.defineProperty(mapper, KEYED, { value: all });
  return mapper;
}

/** The ops a keyHashMapper sends to every log, or null for any other mapper. */
export function keyedAll(mapper: LogMapper): ReadonlySet<string> | null {
  return (mapper as { [KEYED]?: ReadonlySet<string> })[KEYED] ?? null;
}
const KEYED = Symbol('keyHashMapper');
