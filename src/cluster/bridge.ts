/**
 * The bridge: the one thread of a site that talks to JetStream, and the only
 * appender to the site's local log.
 *
 * - publish: a replica's batch becomes one message on the stream's subject
 *   with `Nats-Msg-Id` = site.origin.batch; an attempt that gets no
 *   acknowledgement in `publishAttemptMs` is retried with the same id (so a
 *   retry after a lost ack is stored once) until `writeTimeoutMs`. The reply
 *   to the replica waits until the message is appended locally.
 * - append: an ordered consumer delivers the stream in sequence order; each
 *   message becomes a local write `apply(seq, bytes)` (combined per event
 *   loop turn: many messages, one log entry). The bridge's own replica
 *   applies them too, so it always knows how far the local log goes.
 * - read index: a replica's linearizable reads ask for a position of the
 *   stream at or past every write acknowledged before they began: the
 *   sequence of a read barrier the bridge publishes (read-index.ts). The
 *   reply waits until the local log holds that sequence; every bound is
 *   `readTimeoutMs`, counted from the read's call.
 * - snapshots: each time the stream prefix crosses a mark of the schedule
 *   (a quarter of the stream's retention, in messages or bytes), the bridge
 *   stores its replica's state in the snapshot stream (snapshots.ts; one
 *   per mark across sites). A site that needs messages the stream no longer
 *   holds (at start, or when the consumer skips past a gap) installs the
 *   newest valid snapshot that covers them into its local log and goes on
 *   from there (rejoin). The schedule, storing and installing: bridge-snapshots.ts.
 */
import type { MessagePort } from 'node:worker_threads';
import type { NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { attach, type NrHandle } from '../nr/index.js';
import { BridgeSnapshots, stateRead, type SiteReplica, type SnapshotHost } from './bridge-snapshots.js';
import { CLUSTER_DEFAULTS, subjectOf } from './defaults.js';
import { encodeBarrier } from './envelope.js';
import { ClusterUnavailableError, type WireError, toWire } from './errors.js';
import { Positions } from './positions.js';
import { ReadIndex } from './read-index.js';
import { publishUntil, sleep, untilDeadline, within } from './retry.js';
import { messageCost, POSITION_READ, type SiteStructure } from './site-structure.js';
import { SnapshotStore } from './snapshots.js';
import { checkStream, connectNats } from './stream.js';
import type { AnyStructure } from './structure-ref.js';
import type { FromBridge, ToBridge } from './wire.js';

const CONSUME_EXPIRES_MS = CLUSTER_DEFAULTS.consumeExpiresMs;

export interface BridgeConfig {
  readonly handle: NrHandle;
  readonly positions: SharedArrayBuffer;
  readonly stream: string;
  readonly servers: string[];
  readonly nats: Record<string, unknown>;
  readonly writeTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly publishAttemptMs: number;
  /** The site's id (in its read barriers). */
  readonly site: number;
  /** The local log's size (a snapshot goes into it in parts that fit an entry). */
  readonly logBytes: number;
}

interface SeqWaiter {
  readonly seq: number;
  readonly resolve: () => void;
}

export class Bridge {
  private readonly replica: SiteReplica;
  private readonly positions: Positions;
  private readonly subject: string;
  private readonly barrier: Uint8Array;
  private js!: JetStreamClient;
  private jsm!: JetStreamManager;
  private nc!: NatsConnection;
  /** Highest sequence handed to the local log (queued) / applied by this replica (appended). */
  private queued = 0;
  private appended = 0;
  private waiters: SeqWaiter[] = [];
  private readonly index: ReadIndex;
  private closed = false;
  private messages: { stop(): void } | null = null;
  private lastDelivery = 0;
  /** Told when the bridge stops for good on its own (a lost local append). */
  onFailStop: (e: unknown) => void = () => {};
  private consuming: Promise<void> = Promise.resolve();
  private readonly ports = new Set<MessagePort>();
  /** Made in start(), once the stream's retention (the snapshot schedule) is known. */
  private snaps!: BridgeSnapshots;
  /** messageCost summed over the stream prefix up to `queued`. */
  private queuedBytes = 0;
  readonly counters = {
    published: 0, publishRetries: 0, duplicates: 0, appendedMessages: 0, indexRequests: 0, consumerRestarts: 0,
    snapshotsStored: 0, snapshotsSkipped: 0, snapshotsDuplicate: 0, snapshotFailures: 0, snapshotsInstalled: 0, rejoinFailures: 0,
  };

  constructor(
    private readonly config: BridgeConfig,
    structure: SiteStructure,
  ) {
    // 'immediate': every message delivered in one event-loop turn goes into one local entry.
    this.replica = attach(config.handle, structure, { combine: 'immediate' }) as unknown as SiteReplica;
    this.positions = new Positions(config.positions);
    this.subject = subjectOf(config.stream);
    this.barrier = encodeBarrier(config.site);
    this.appended = this.queued = this.localSeq();
    this.index = new ReadIndex({
      barrier: async (deadline) => {
        const ack = await publishUntil(this.js, this.subject, this.barrier, { deadline, attemptMs: config.publishAttemptMs, committed: false, what: 'read index', stopped: this.isClosed });
        this.positions.raiseKnown(ack.seq);
        return ack.seq;
      },
      catchUp: (seq, deadline) => this.waitAppended(seq, deadline - performance.now(), 'read index: catching up', false),
      maxMs: config.readTimeoutMs,
      onRound: () => this.counters.indexRequests++,
      rounds: CLUSTER_DEFAULTS.readIndexRounds,
    });
  }

  private localSeq(): number {
    return (this.replica.read as (n: string) => unknown)(POSITION_READ) as number;
  }

  /** Connect, check the stream, join from a snapshot if the stream no longer holds what this site needs, and start appending. */
  async start(user: AnyStructure): Promise<void> {
    this.nc = await connectNats(this.config.servers, this.config.nats);
    this.positions.setConnected(true);
    void this.watchStatus();
    // No account check here: it is one more request that fails during a meta-leader election; checkStream retries.
    // Requests wait publishAttemptMs each and are retried; a connection whose server does not answer (just restarted,
    // its JetStream catching up) is made again, to whichever server the client picks, within the bound.
    const attemptMs = Math.min(this.config.publishAttemptMs, this.config.readTimeoutMs);
    this.jsm = await jetstreamManager(this.nc, { timeout: attemptMs, checkAPI: false });
    this.js = jetstream(this.nc, { timeout: this.config.publishAttemptMs });
    const deadline = performance.now() + this.config.readTimeoutMs;
    const info = await untilDeadline('attach', deadline, async () => {
      try {
        return await checkStream(this.jsm, this.config.stream, user, Math.min(deadline, performance.now() + 2 * attemptMs));
      } catch (e) {
        // Not awaited: the next attempt's requests wait for the new connection within their own timeout.
        if (e instanceof ClusterUnavailableError) void this.nc.reconnect().catch(() => {});
        throw e;
      }
    });
    const store = new SnapshotStore(this.js, this.jsm, { fingerprint: user.fingerprint, stream: this.config.stream }, this.config.site, this.config.publishAttemptMs);
    this.snaps = new BridgeSnapshots(this.snapshotHost(store, user), info.config);
    this.queuedBytes = stateRead(this.replica, false).bytes;
    const need = this.queued + 1;
    // Messages this site needs are gone (discarded by retention, or purged): it joins from a snapshot or not at all.
    if (info.state.last_seq >= need && info.state.first_seq > need) await this.snaps.rejoin(performance.now() + CLUSTER_DEFAULTS.snapshotTimeoutMs);
    this.positions.raiseKnown(info.state.last_seq);
    this.consuming = this.consumeLoop();
    this.watchConsumer();
  }

  /** What the snapshots need of this bridge (made once, at start). */
  private snapshotHost(store: SnapshotStore, user: AnyStructure): SnapshotHost {
    return {
      replica: this.replica,
      jsm: this.jsm,
      store,
      user,
      stream: this.config.stream,
      logBytes: this.config.logBytes,
      counters: this.counters,
      positions: this.positions,
      queued: () => this.queued,
      isClosed: this.isClosed,
      installed: (seq, bytes) => {
        this.queued = seq;
        this.queuedBytes = bytes;
        this.positions.setInstalled(seq);
        this.positions.raiseKnown(seq);
        this.onAppended(seq);
      },
      failStop: (e) => {
        this.onFailStop(e);
        void this.close();
      },
    };
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') this.positions.setConnected(false);
      else if (s.type === 'reconnect') this.positions.setConnected(true);
    }
  }

  /** Append the stream from `queued + 1`, for as long as the bridge runs; a broken consumer is made again. */
  private async consumeLoop(): Promise<void> {
    while (!this.closed) {
      try {
        const consumer = await this.js.consumers.get(this.config.stream, {
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: this.queued + 1,
        });
        // Short pulls: a consumer lost with its server (or a cut link) is noticed by missed heartbeats within seconds.
        const messages = await consumer.consume({ max_messages: 4096, expires: CONSUME_EXPIRES_MS });
        this.messages = messages;
        this.lastDelivery = performance.now();
        for await (const m of messages) {
          if (this.closed) break;
          this.lastDelivery = performance.now();
          const seq = m.seq;
          this.positions.raiseKnown(seq + m.info.pending);
          if (seq <= this.queued) continue; // a re-delivery after the consumer was made again
          if (seq > this.queued + 1) {
            // The stream no longer holds queued + 1 (discarded by retention while this site was away, or purged):
            // applying past the gap would build a wrong state. Install a snapshot, then consume from after it.
            messages.stop();
            await this.snaps.rejoinUntilDone();
            break;
          }
          this.append(seq, m.data);
        }
      } catch {
        // The consumer could not be made or broke (no quorum, disconnected): make it again.
        if (this.closed) return;
        this.counters.consumerRestarts++;
        await sleep(100);
      }
    }
  }

  /**
   * The client's ordered consumer does not always come back after its
   * server dies (it can stay silent). When the stream is known to hold more
   * than was delivered and nothing came for `consumerStallMs`, stop it: the
   * loop makes a new one from the next sequence.
   */
  private watchConsumer(): void {
    const timer = setInterval(() => {
      if (this.closed) {
        clearInterval(timer);
        return;
      }
      const behind = this.positions.known() > this.queued || this.waiters.some((w) => w.seq > this.queued);
      if (behind && performance.now() - this.lastDelivery > CLUSTER_DEFAULTS.consumerStallMs && this.messages !== null) {
        this.counters.consumerRestarts++;
        this.lastDelivery = performance.now();
        this.messages.stop();
      }
    }, CLUSTER_DEFAULTS.consumerStallMs / 4);
    timer.unref();
  }

  private append(seq: number, data: Uint8Array): void {
    this.queued = seq;
    this.queuedBytes += messageCost(data.length);
    const snaps = this.snaps;
    if (snaps.markOf(seq, this.queuedBytes) > snaps.storedMark) snaps.due = true;
    this.replica.writeAsync('apply', seq, data).then(
      () => this.onAppended(seq),
      (e: unknown) => this.onAppendFailed(seq, e),
    );
  }

  private onAppended(seq: number): void {
    this.counters.appendedMessages++;
    if (seq <= this.appended) return;
    this.appended = seq;
    this.positions.setAppended(seq);
    this.snaps.maybeTake();
    if (this.waiters.length === 0) return;
    const still: SeqWaiter[] = [];
    for (const w of this.waiters) (w.seq <= seq ? w.resolve() : still.push(w));
    this.waiters = still;
  }

  /**
   * The local append failed. `committed: true` (a state transfer already
   * holds it) is an append. Anything else means a stream message is missing
   * from the local log while later ones may be there: the site stops
   * (fail-stop) rather than serve a log with a hole.
   */
  private onAppendFailed(seq: number, e: unknown): void {
    if ((e as { committed?: unknown }).committed === true) {
      this.onAppended(seq);
      return;
    }
    this.onFailStop(e);
    void this.close();
  }

  private waitAppended(seq: number, ms: number, what: string, committed: boolean | 'unknown'): Promise<void> {
    if (seq <= this.appended) return Promise.resolve();
    return within(new Promise<void>((resolve) => this.waiters.push({ seq, resolve })), ms, what, committed);
  }

  addPort(port: MessagePort): void {
    this.ports.add(port);
    port.on('message', (m: ToBridge) => {
      if (m.t === 'w') void this.publish(m.id, m.msg).then((r) => this.reply(port, { t: 'w', b: m.b, ...r }));
      else if (m.t === 'i') this.index.ask(m.ms, (r) => this.reply(port, { t: 'i', n: m.n, ...r }));
    });
    port.on('close', () => this.ports.delete(port));
  }

  private reply(port: MessagePort, m: FromBridge): void {
    if (this.ports.has(port)) port.postMessage(m);
  }

  private readonly isClosed = (): boolean => this.closed;

  private async publish(id: string, msg: Uint8Array): Promise<{ seq: number } | { err: WireError }> {
    const deadline = performance.now() + this.config.writeTimeoutMs;
    try {
      // No ack (timeout, no responders, a leader election, disconnected): retried with the same id until the deadline.
      const ack = await publishUntil(this.js, this.subject, msg, {
        msgID: id, deadline, attemptMs: this.config.publishAttemptMs, committed: 'unknown', what: 'write', stopped: this.isClosed,
        onRetry: () => this.counters.publishRetries++,
      });
      this.counters.published++;
      if (ack.duplicate) this.counters.duplicates++;
      this.positions.raiseKnown(ack.seq);
      await this.waitAppended(ack.seq, deadline - performance.now(), 'stored, but not appended locally', true);
      return { seq: ack.seq };
    } catch (e) {
      return { err: toWire(e) };
    }
  }

  private closing: Promise<void> | null = null;
  close(): Promise<void> {
    return (this.closing ??= this.shutDown());
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    this.messages?.stop();
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    try {
      await within(this.nc.close(), 2_000, 'close', false);
    } catch {
      /* closing anyway */
    }
    await Promise.race([this.consuming, sleep(500)]);
    if (!this.replica.isDetached) this.replica.detach();
  }
}
