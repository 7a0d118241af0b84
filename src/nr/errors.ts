/**
 * Typed errors raised by the NR runtime. Every error thrown at a call site is
 * an `NrError` with a stable `code`, so callers can branch without parsing
 * messages. When one of these is thrown, nothing was appended to the log,
 * except FencedError with `committed` and BatchApplyError, which say so.
 */
export type NrErrorCode =
  | 'ERR_NR_ENCODE'
  | 'ERR_NR_DECODE'
  | 'ERR_NR_OP_TOO_LARGE'
  | 'ERR_NR_HANDLE_MISMATCH'
  | 'ERR_NR_CAPACITY'
  | 'ERR_NR_DETACHED'
  | 'ERR_NR_UNKNOWN_OP'
  | 'ERR_NR_REENTRANT'
  | 'ERR_NR_CONFIG'
  | 'ERR_NR_NODE_GONE'
  | 'ERR_NR_BACKPRESSURE'
  | 'ERR_NR_TIMEOUT'
  | 'ERR_NR_RECOVERY'
  | 'ERR_NR_FENCED'
  | 'ERR_NR_FAIL_STOP'
  | 'ERR_NR_SAME_THREAD'
  | 'ERR_NR_LOG_MAPPER'
  | 'ERR_NR_BATCH_APPLY';

/**
 * The one base of every error the project throws on purpose (NrError,
 * KvError, FsError, SchedError): a stable string `code` to branch on, an
 * optional `cause`, and `name` set to the concrete class.
 */
export class ReplicationError<C extends string = string> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Errors of the NR runtime itself. */
export class NrError extends ReplicationError<NrErrorCode> {
  constructor(code: NrErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The structure's codec threw while encoding an op's arguments (a write's, or a client's read). */
export class EncodeError extends NrError {
  constructor(opName: string, cause: unknown, kind: 'read' | 'write' = 'write') {
    super('ERR_NR_ENCODE', `cannot encode ${kind} op '${opName}': ${describe(cause)}`, { cause });
  }
}

/**
 * Encoded bytes read from shared memory (a log entry's op, a client's
 * request or answer) do not decode: a field or a length read there runs
 * past the end of the op. `OpReader` throws it before reading out of the
 * op. Read from the log it is corruption: the replica fails stop.
 */
export class DecodeError extends NrError {
  constructor(message: string) {
    super('ERR_NR_DECODE', message);
  }
}

/** One op (or its result) is larger than the biggest entry or slot that can carry it. */
export class OpTooLargeError extends NrError {
  readonly bytes: number;
  readonly limit: number;
  /** The option that raises the limit. */
  readonly option: string;
  /** `bytes` is a lower bound when `atLeast`: the encoding stopped where it passed the limit. */
  constructor(opName: string, bytes: number, limit: number, carrier: 'log entry' | 'client slot' = 'log entry', option = 'logBytes', atLeast = false) {
    super(
      'ERR_NR_OP_TOO_LARGE',
      `op '${opName}' encodes to ${atLeast ? 'at least ' : ''}${bytes} bytes; a ${carrier} holds at most ${limit} (raise it with the option \`${option}\`)`,
    );
    this.bytes = bytes;
    this.limit = limit;
    this.option = option;
  }
}

/** The handle was made for another structure, structure version or layout. */
export class HandleMismatchError extends NrError {
  constructor(message: string) {
    super('ERR_NR_HANDLE_MISMATCH', message);
  }
}

/** More replicas (or clients) than the log was configured for. */
export class CapacityError extends NrError {
  constructor(message: string) {
    super('ERR_NR_CAPACITY', message);
  }
}

/** The replica was detached (or declared dead, or its slot reclaimed); it can serve no more ops. */
export class DetachedError extends NrError {
  constructor(why = 'replica is detached') {
    super('ERR_NR_DETACHED', why);
  }
}

/** The op name is not one the structure defines (as a read or as a write). */
export class UnknownOpError extends NrError {
  constructor(kind: 'read' | 'write' | 'digest', name: string, message = `structure has no ${kind} op named '${String(name)}'`) {
    super('ERR_NR_UNKNOWN_OP', message);
  }
}

/** An apply function called back into the replica; applies must be self-contained. */
export class ReentrancyError extends NrError {
  constructor() {
    super('ERR_NR_REENTRANT', 'an op was issued from inside an apply function');
  }
}

/** Bad options when creating or attaching a log. */
export class ConfigError extends NrError {
  constructor(message: string) {
    super('ERR_NR_CONFIG', message);
  }
}

/** A structure's log mapper (parallel logs) threw or named no valid log for an op, or a write batch's ops map to more than one log (or include a multi-log op). Nothing was written. */
export class LogMapperError extends NrError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_NR_LOG_MAPPER', message, options);
  }
}

/**
 * The client's node detached, died or was fenced, or this client was
 * closed. `committed` says what became of the op: `false`, it did not and
 * never will take effect (it was never handed to a node, or the node that
 * took it never served it); `'unknown'`, it was in flight when the node
 * went away: it may have taken effect (then it is in the log, in order),
 * but it never will later. Connect again to another node.
 */
export class NodeGoneError extends NrError {
  readonly node: number;
  readonly committed: false | 'unknown';
  constructor(node: number, committed: false | 'unknown' = false, why = 'is detached or gone') {
    super(
      'ERR_NR_NODE_GONE',
      `node ${node} ${why}; ${committed === false ? 'the op did not and will not take effect' : 'the op was in flight: it may have taken effect, and will not later'}`,
    );
    this.node = node;
    this.committed = committed;
  }
}

/** A blocking client op was issued to a node that lives in the same thread: it could never be served. Nothing was sent. */
export class SameThreadError extends NrError {
  constructor(node: number) {
    super('ERR_NR_SAME_THREAD', `node ${node} runs in this thread, so a blocking client op could never be served; use the replica directly or the async form`);
  }
}

/** A sync client op found its slot ring full and no slot freed within the bound. Nothing was sent. */
export class BackpressureError extends NrError {
  constructor(slots: number, ms: number) {
    super('ERR_NR_BACKPRESSURE', `all ${slots} request slots stayed in flight for ${ms} ms`);
  }
}

/**
 * A sync client op got no response within the bound. The op was sent and
 * may still take effect; its response will be discarded.
 */
export class TimeoutError extends NrError {
  /** As for NodeGoneError: the op was sent, so whether it took effect is unknown. */
  readonly committed = 'unknown' as const;
  constructor(ms: number) {
    super('ERR_NR_TIMEOUT', `no response from the node within ${ms} ms (the op may still take effect)`);
  }
}

/**
 * The replica was fenced while this write was in flight. If `committed`,
 * the write took effect (it is in the log, in order) and only its return
 * value is lost: the replica rebuilt its state from a snapshot that already
 * includes it. If not, the write never took effect anywhere: its reserved
 * log space was presumed torn and skipped by every replica.
 */
export class FencedError extends NrError {
  readonly committed: boolean;
  /** `how`: what happened to the replica ('was fenced'; 'lost its slot' when it was reclaimed or declared dead mid-write). */
  constructor(committed: boolean, how = 'was fenced') {
    super(
      'ERR_NR_FENCED',
      committed
        ? `the replica ${how} during this write; the write took effect but its result is lost`
        : `the replica ${how} during this write; the write did not take effect`,
    );
    this.committed = committed;
  }
}

/**
 * Some ops of a `writeBatch` threw in their apply. The batch took effect
 * whole: it is in the log and every replica applied it, and each of these
 * ops threw there too (applies are deterministic), while the others applied
 * normally. `results` holds each op's result (undefined at a failed one),
 * `failures` each failed op's index and what its apply threw, in op order.
 */
export class BatchApplyError extends NrError {
  constructor(
    readonly results: unknown[],
    readonly failures: readonly { index: number; error: unknown }[],
  ) {
    const first = failures[0]!;
    super('ERR_NR_BATCH_APPLY', `${failures.length} of the ${results.length} ops of a write batch threw in their apply (the batch took effect); op ${first.index}: ${describe(first.error)}`, { cause: first.error });
  }
}

/**
 * Shared state was found inauthentic or corrupt (thrown by an apply function
 * that validates what it reads, or by the runtime). The replica halts for
 * good: this and every later op on it throw this error, nothing it computed
 * after the failure is published, and its clients get NodeGoneError.
 */
export class FailStopError extends NrError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_NR_FAIL_STOP', message, options);
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
