/**
 * Typed errors of the KV store. Each has a stable `code`. Input errors are
 * thrown at the call site before anything is allocated or logged.
 */
import { ReplicationError } from '../nr/index.js';
export type KvErrorCode =
  | 'ERR_KV_INTEGRITY'
  | 'ERR_KV_WRONG_KEY'
  | 'ERR_KV_TYPE'
  | 'ERR_KV_TOO_LARGE'
  | 'ERR_KV_ARENA_FULL'
  | 'ERR_KV_CONFIG'
  | 'ERR_KV_CONTENTION'
  | 'ERR_KV_STALE';

/** Under the project-wide ReplicationError: a stable `code`, an optional `cause`, `name` the concrete class. */
export class KvError extends ReplicationError<KvErrorCode> {
  constructor(code: KvErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Shared memory failed verification. With `key` set: that key's stored value
 * (ciphertext, nonce, tag or block) was tampered with; only that key is
 * affected. Without: the log (or a snapshot) was tampered with and this
 * replica is fail-stopped: every later op throws this error.
 */
export class IntegrityError extends KvError {
  readonly key: string | undefined;
  readonly failStop: boolean;
  constructor(message: string, key?: string, failStop = false) {
    super('ERR_KV_INTEGRITY', key === undefined ? message : `${message} (key ${JSON.stringify(key)})`);
    this.key = key;
    this.failStop = failStop;
  }
}

/** The key (or passphrase) given at attach does not match the store's key check value. */
export class WrongKeyError extends KvError {
  constructor() {
    super('ERR_KV_WRONG_KEY', 'wrong key: it does not match the key check value the store was created with');
  }
}

/** A key, value, range or option of the wrong type. */
export class KvTypeError extends KvError {
  constructor(message: string) {
    super('ERR_KV_TYPE', message);
  }
}

/** A key or value (or a batch) beyond its size bound. */
export class KvSizeError extends KvError {
  constructor(message: string) {
    super('ERR_KV_TOO_LARGE', message);
  }
}

/** The value arena has no room for the block. */
export class ArenaFullError extends KvError {
  constructor(bytes: number, capacity: number) {
    super('ERR_KV_ARENA_FULL', `the value arena (${capacity} bytes) has no room for a ${bytes}-byte block`);
  }
}

/** Bad store options or handle. */
export class KvConfigError extends KvError {
  constructor(message: string) {
    super('ERR_KV_CONFIG', message);
  }
}

/** A compare-and-set by value kept losing races to other writers (bounded retries). */
export class KvContentionError extends KvError {
  constructor(key: string, attempts: number) {
    super('ERR_KV_CONTENTION', `compareAndSet on ${JSON.stringify(key)} lost ${attempts} races in a row`);
  }
}

/**
 * A read found its replica behind the newest chain head a peer announced
 * and the replica did not catch up within `staleMs` (the log's tail or its
 * commit counter rolled back, records hidden, or a writer stuck): nothing
 * was served. Not a fail-stop; a later read may succeed once it catches up.
 */
export class KvStaleError extends KvError {
  readonly applied: number;
  readonly announced: number;
  constructor(applied: number, announced: number, ms: number) {
    super('ERR_KV_STALE', `this replica has applied ${applied} log records but a peer announced ${announced}; it did not catch up within ${ms} ms`);
    this.applied = applied;
    this.announced = announced;
  }
}
