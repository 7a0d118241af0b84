/**
 * Typed errors of node-replication/cluster. Each has a stable `code`; they
 * are under the project-wide ReplicationError. Errors that cross from the
 * bridge worker to a replica travel as `{ code, message, committed }` and are
 * rebuilt here (`clusterErrorFrom`), so the class is the same on both sides.
 */
import { ReplicationError } from '../nr/index.js';

export type ClusterErrorCode =
  | 'ERR_CLUSTER_CONFIG'
  | 'ERR_CLUSTER_STREAM_NOT_FOUND'
  | 'ERR_CLUSTER_STREAM_MISMATCH'
  | 'ERR_CLUSTER_BEHIND_RETENTION'
  | 'ERR_CLUSTER_SNAPSHOT_INVALID'
  | 'ERR_CLUSTER_UNAVAILABLE'
  | 'ERR_CLUSTER_RESULT_LOST'
  | 'ERR_CLUSTER_CLOSED';

/** What became of a write that failed: `false` (never stored), `'unknown'`, `true` (stored, result lost). */
export type Committed = boolean | 'unknown';

export class ClusterError extends ReplicationError<ClusterErrorCode> {
  constructor(code: ClusterErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A bad option or argument at the call site (unknown options included). Nothing was sent. */
export class ClusterConfigError extends ClusterError {
  constructor(message: string) {
    super('ERR_CLUSTER_CONFIG', message);
  }
}

/** The stream named at attach does not exist. */
export class StreamNotFoundError extends ClusterError {
  readonly stream: string;
  constructor(stream: string) {
    super('ERR_CLUSTER_STREAM_NOT_FOUND', `JetStream stream '${stream}' does not exist (create it with createStream())`);
    this.stream = stream;
  }
}

/** The stream exists but was made for another structure (name, version or op names differ). */
export class StreamMismatchError extends ClusterError {
  readonly stream: string;
  readonly found: string;
  readonly expected: string;
  constructor(stream: string, found: string, expected: string) {
    super('ERR_CLUSTER_STREAM_MISMATCH', `JetStream stream '${stream}' holds '${found}', not '${expected}'`);
    this.stream = stream;
    this.found = found;
    this.expected = expected;
  }
}

/**
 * The stream no longer holds the messages this site needs to catch up (it
 * starts after them), and no stored snapshot covers them: the newest valid
 * one is older than the stream's first message, or there is none.
 */
export class BehindRetentionError extends ClusterError {
  readonly stream: string;
  readonly needFrom: number;
  readonly firstSeq: number;
  /** The sequence of the newest valid snapshot found (0: none). */
  readonly snapshotSeq: number;
  constructor(stream: string, needFrom: number, firstSeq: number, snapshotSeq = 0) {
    const snap = snapshotSeq > 0 ? `the newest snapshot is at ${snapshotSeq}` : 'no snapshot is stored';
    super('ERR_CLUSTER_BEHIND_RETENTION', `stream '${stream}' starts at sequence ${firstSeq}; this site needs ${needFrom} and ${snap}`);
    this.stream = stream;
    this.needFrom = needFrom;
    this.firstSeq = firstSeq;
    this.snapshotSeq = snapshotSeq;
  }
}

/**
 * A stored snapshot failed validation (its manifest, its chunks, its
 * digest, its sequence, its size, or its state's decoding): it was not
 * installed. `reason` says which check.
 */
export class SnapshotInvalidError extends ClusterError {
  readonly reason: string;
  constructor(reason: string) {
    super('ERR_CLUSTER_SNAPSHOT_INVALID', `invalid snapshot: ${reason}`);
    this.reason = reason;
  }
}

/**
 * The cluster could not be reached within the bound (`writeTimeoutMs` or
 * `readTimeoutMs`): a cut-off site, a stream without quorum. A read that
 * fails so returned nothing; a write's `committed` says what became of it.
 */
export class ClusterUnavailableError extends ClusterError {
  readonly committed: Committed;
  constructor(message: string, committed: Committed) {
    super('ERR_CLUSTER_UNAVAILABLE', message);
    this.committed = committed;
  }
}

/** The write is in the stream, but this replica took a state transfer past it: its result is lost. */
export class ResultLostError extends ClusterError {
  readonly committed = true;
  constructor(seq: number) {
    super('ERR_CLUSTER_RESULT_LOST', `the write was stored at stream sequence ${seq}, but this replica restored a snapshot past it: its result is lost`);
  }
}

/** The site (its bridge) or this replica was closed. */
export class SiteClosedError extends ClusterError {
  readonly committed: Committed;
  constructor(message = 'the site is closed', committed: Committed = false) {
    super('ERR_CLUSTER_CLOSED', message);
    this.committed = committed;
  }
}

/** An error as it crosses a MessagePort. */
export interface WireError {
  readonly code: ClusterErrorCode;
  readonly message: string;
  readonly committed?: Committed;
  /** The fields a typed error is rebuilt from on the other side. */
  readonly detail?: { readonly stream: string; readonly needFrom: number; readonly firstSeq: number; readonly snapshotSeq: number } | { readonly reason: string };
}

export function toWire(e: unknown): WireError {
  if (e instanceof BehindRetentionError) return { code: e.code, message: e.message, detail: { stream: e.stream, needFrom: e.needFrom, firstSeq: e.firstSeq, snapshotSeq: e.snapshotSeq } };
  if (e instanceof SnapshotInvalidError) return { code: e.code, message: e.message, detail: { reason: e.reason } };
  if (e instanceof ClusterError) {
    const committed = (e as { committed?: Committed }).committed;
    return committed === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, committed };
  }
  return { code: 'ERR_CLUSTER_UNAVAILABLE', message: e instanceof Error ? e.message : String(e), committed: 'unknown' };
}

export function clusterErrorFrom(w: WireError): ClusterError {
  switch (w.code) {
    case 'ERR_CLUSTER_UNAVAILABLE':
      return new ClusterUnavailableError(w.message, w.committed ?? 'unknown');
    case 'ERR_CLUSTER_CLOSED':
      return new SiteClosedError(w.message, w.committed ?? false);
    case 'ERR_CLUSTER_BEHIND_RETENTION':
      if (w.detail && 'needFrom' in w.detail) return new BehindRetentionError(w.detail.stream, w.detail.needFrom, w.detail.firstSeq, w.detail.snapshotSeq);
      return new ClusterError(w.code, w.message);
    case 'ERR_CLUSTER_SNAPSHOT_INVALID':
      return new SnapshotInvalidError(w.detail && 'reason' in w.detail ? w.detail.reason : w.message);
    default:
      // Attach errors (stream missing or another structure's) are thrown as their own classes by createSite's
      // check in its thread; one the bridge meets again (the stream changed since) keeps its code.
      return new ClusterError(w.code, w.message);
  }
}
