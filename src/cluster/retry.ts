/**
 * Bounded retries through the cluster's own failovers. When a stream's Raft
 * leader (or JetStream's meta leader) dies, requests fail for a few seconds
 * (no responders, timeouts, "temporarily unavailable") until a new one is
 * elected. An operation with a stated bound retries such failures until its
 * deadline, then fails with ClusterUnavailableError, never with the
 * client's raw error; an answer that is definitive (a typed ClusterError:
 * the stream does not exist, holds another structure, a snapshot is
 * invalid) ends it at once.
 */
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { CLUSTER_DEFAULTS } from './defaults.js';
import { ClusterError, ClusterUnavailableError, type Committed } from './errors.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Reject after `ms` with ClusterUnavailableError (the timer never keeps the thread alive). */
export function within<T>(p: Promise<T>, ms: number, what: string, committed: Committed): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClusterUnavailableError(`${what}: no answer from the cluster within ${Math.round(ms)} ms`, committed)), Math.max(0, ms));
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** A typed answer that retrying cannot change. */
function isDefinitive(e: unknown): boolean {
  return e instanceof ClusterError && !(e instanceof ClusterUnavailableError);
}

/**
 * Run `attempt(msLeft)` until it resolves, a definitive error, or
 * `deadline` (performance.now() time); each attempt is itself cut off at
 * the deadline. `what` names the operation in the timeout error; `stopped`
 * ends it early (the bridge is closing).
 */
export async function untilDeadline<T>(what: string, deadline: number, attempt: (msLeft: number) => Promise<T>, committed: Committed = false, stopped?: () => boolean): Promise<T> {
  let last: unknown;
  let tries = 0;
  for (;;) {
    if (stopped?.()) throw new ClusterUnavailableError(`${what}: the bridge is closing`, tries === 0 ? false : committed);
    const left = deadline - performance.now();
    if (left <= 0) {
      const why = last instanceof Error ? `; last: ${last.message}` : '';
      throw new ClusterUnavailableError(`${what}: no answer from the cluster within the bound (${tries} attempts${why})`, committed);
    }
    tries++;
    try {
      return await within(attempt(left), left, what, committed);
    } catch (e) {
      if (isDefinitive(e)) throw e;
      last = e;
      await sleep(Math.min(CLUSTER_DEFAULTS.retryPauseMs, Math.max(0, deadline - performance.now())));
    }
  }
}

export interface PublishUntil {
  /** `Nats-Msg-Id`: a retry of a stored message is stored once (within the duplicate window). */
  readonly msgID?: string;
  readonly deadline: number;
  /** One attempt waits this long for its acknowledgement. */
  readonly attemptMs: number;
  /** What a failure at the deadline says the message became. */
  readonly committed: Committed;
  readonly what: string;
  /** Called before each retry. */
  readonly onRetry?: () => void;
  readonly stopped?: () => boolean;
}

/** Publish until acknowledged (retrying with the same message id) or the deadline. */
export function publishUntil(js: JetStreamClient, subject: string, data: Uint8Array, o: PublishUntil): Promise<PubAck> {
  let attempts = 0;
  return untilDeadline(
    o.what,
    o.deadline,
    (left) => {
      if (attempts++ > 0) o.onRetry?.();
      const timeout = Math.max(1, Math.min(o.attemptMs, left));
      return within(js.publish(subject, data, { ...(o.msgID === undefined ? {} : { msgID: o.msgID }), timeout }), timeout + 50, o.what, o.committed);
    },
    o.committed,
    o.stopped,
  );
}
