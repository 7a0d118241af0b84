/**
 * Typed errors raised by the NR runtime. Every error thrown at a call site is
 * an `NrError` with a stable `code`, so callers can branch without parsing
 * messages. When one of these is thrown, nothing was appended to the log.
 */
export type NrErrorCode =
  | 'ERR_NR_ENCODE'
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
  | 'ERR_NR_FAIL_STOP';

export class NrError extends Error {
  readonly code: NrErrorCode;
  constructor(code: NrErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The structure's codec threw while encoding a write op. */
export class EncodeError extends NrError {
  constructor(opName: string, cause: unknown) {
    super('ERR_NR_ENCODE', `cannot encode write op '${opName}': ${describe(cause)}`, { cause });
  }
}

/** One op is larger than the biggest entry the log can ever hold. */
export class OpTooLargeError extends NrError {
  readonly bytes: number;
  readonly limit: number;
  constructor(opName: string, bytes: number, limit: number) {
    super('ERR_NR_OP_TOO_LARGE', `write op '${opName}' encodes to ${bytes} bytes; the log holds at most ${limit} per entry`);
    this.bytes = bytes;
    this.limit = limit;
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

/** The replica was detached; it can serve no more ops. */
export class DetachedError extends NrError {
  constructor() {
    super('ERR_NR_DETACHED', 'replica is detached');
  }
}

/** The op name is not one the structure defines (as a read or as a write). */
export class UnknownOpError extends NrError {
  constructor(kind: 'read' | 'write', name: string) {
    super('ERR_NR_UNKNOWN_OP', `structure has no ${kind} op named '${name}'`);
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

/** The client's node detached or died; the op did not (and will not) run there. Re-attach to another node. */
export class NodeGoneError extends NrError {
  readonly node: number;
  constructor(node: number) {
    super('ERR_NR_NODE_GONE', `node ${node} is detached or gone`);
    this.node = node;
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
  constructor(committed: boolean) {
    super(
      'ERR_NR_FENCED',
      committed
        ? 'the replica was fenced during this write; the write took effect but its result is lost'
        : 'the replica was fenced during this write; the write did not take effect',
    );
    this.committed = committed;
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
