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
 *   sequence of a read barrier the bridge publishes; requests that arrive
 *   while one barrier is in flight share the next one (ReadIndex). The
 *   reply waits until the local log holds that sequence; every bound is
 *   `readTimeoutMs`.
 */
import type { MessagePort } from 'node:worker_threads';
import type { NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { attach, type NrHandle, type Replica } from '../nr/index.js';
import { CLUSTER_DEFAULTS, subjectOf } from './defaults.js';
import { encodeBarrier } from './envelope.js';
import { BehindRetentionError, ClusterUnavailableError, type WireError, toWire } from './errors.js';
import { Positions } from './positions.js';
import { POSITION_READ, type SiteStructure, type SiteState } from './site-structure.js';
import { checkStream, connectNats } from './stream.js';
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
}

type SiteReplica = Replica<SiteState<unknown>, SiteStructure['reads'], SiteStructure['writes']>;

interface SeqWaiter {
  readonly seq: number;
  readonly resolve: () => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Reject after `ms` with ClusterUnavailableError (the timer never keeps the thread alive). */
function within<T>(p: Promise<T>, ms: number, what: string, committed: boolean | 'unknown'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClusterUnavailableError(`${what}: no answer from the cluster within ${Math.round(ms)} ms`, committed)), Math.max(0, ms));
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
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
  private indexQueue: ((r: { seq: number } | { err: WireError }) => void)[] = [];
  private indexBusy = false;
  private closed = false;
  private messages: { stop(): void } | null = null;
  private lastDelivery = 0;
  /** Told when the bridge stops for good on its own (a lost local append). */
  onFailStop: (e: unknown) => void = () => {};
  private consuming: Promise<void> = Promise.resolve();
  private readonly ports = new Set<MessagePort>();
  readonly counters = { published: 0, publishRetries: 0, duplicates: 0, appendedMessages: 0, indexRequests: 0, consumerRestarts: 0 };

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
  }

  private localSeq(): number {
    return (this.replica.read as (n: string) => unknown)(POSITION_READ) as number;
  }

  /** Connect, check the stream, and start appending it from where the local log stands. */
  async start(userStructure: { name: string; version: number; fingerprint: number }): Promise<void> {
    this.nc = await connectNats(this.config.servers, this.config.nats);
    this.positions.setConnected(true);
    void this.watchStatus();
    this.jsm = await jetstreamManager(this.nc, { timeout: this.config.readTimeoutMs });
    this.js = jetstream(this.nc, { timeout: this.config.publishAttemptMs });
    const info = await checkStream(this.jsm, this.config.stream, userStructure);
    const need = this.queued + 1;
    // Messages this site needs are gone (purged, or aged out): replaying the rest would build a wrong state.
    if (info.state.last_seq >= need && info.state.first_seq > need) throw new BehindRetentionError(this.config.stream, need, info.state.first_seq);
    this.positions.raiseKnown(info.state.last_seq);
    this.consuming = this.consumeLoop();
    this.watchConsumer();
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
          this.queued = seq;
          this.replica.writeAsync('apply', seq, m.data).then(
            () => this.onAppended(seq),
            (e: unknown) => this.onAppendFailed(seq, e),
          );
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

  private onAppended(seq: number): void {
    this.counters.appendedMessages++;
    if (seq <= this.appended) return;
    this.appended = seq;
    this.positions.setAppended(seq);
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
      else if (m.t === 'i') this.readIndex((r) => this.reply(port, { t: 'i', n: m.n, ...r }));
    });
    port.on('close', () => this.ports.delete(port));
  }

  private reply(port: MessagePort, m: FromBridge): void {
    if (this.ports.has(port)) port.postMessage(m);
  }

  private async publish(id: string, msg: Uint8Array): Promise<{ seq: number } | { err: WireError }> {
    const deadline = performance.now() + this.config.writeTimeoutMs;
    let attempts = 0;
    for (;;) {
      if (this.closed) return { err: toWire(new ClusterUnavailableError('the bridge is closing', attempts === 0 ? false : 'unknown')) };
      const left = deadline - performance.now();
      if (left <= 0) {
        return { err: toWire(new ClusterUnavailableError(`write not acknowledged by the stream within ${this.config.writeTimeoutMs} ms (${attempts} attempts)`, 'unknown')) };
      }
      attempts++;
      if (attempts > 1) this.counters.publishRetries++;
      try {
        const ack = await within(this.js.publish(this.subject, msg, { msgID: id, timeout: Math.min(this.config.publishAttemptMs, left) }), Math.min(this.config.publishAttemptMs, left) + 50, 'publish', 'unknown');
        this.counters.published++;
        if (ack.duplicate) this.counters.duplicates++;
        this.positions.raiseKnown(ack.seq);
        try {
          await this.waitAppended(ack.seq, deadline - performance.now(), 'stored, but not appended locally', true);
        } catch (e) {
          return { err: toWire(e) };
        }
        return { seq: ack.seq };
      } catch {
        // No ack (timeout, no responders, disconnected): try again with the same id until the deadline.
        await sleep(Math.min(50, Math.max(0, deadline - performance.now())));
      }
    }
  }

  private readIndex(done: (r: { seq: number } | { err: WireError }) => void): void {
    this.indexQueue.push(done);
    if (!this.indexBusy) void this.indexRounds();
  }

  /**
   * One read barrier per round; every read that asked before the round
   * began shares it. The barrier is a publish: its acknowledgement comes
   * through the stream's Raft leader once a quorum stored it, so its
   * sequence is at or past every write acknowledged before the round began.
   * (A stream-info request is not: while the stream's group has no leader,
   * its followers answer it from their own, possibly older, state.)
   */
  private async indexRounds(): Promise<void> {
    this.indexBusy = true;
    while (this.indexQueue.length > 0) {
      const round = this.indexQueue.splice(0);
      this.counters.indexRequests++;
      const started = performance.now();
      let result: { seq: number } | { err: WireError };
      try {
        const ack = await within(this.js.publish(this.subject, this.barrier, { timeout: this.config.readTimeoutMs }), this.config.readTimeoutMs, 'read index', false);
        this.positions.raiseKnown(ack.seq);
        await this.waitAppended(ack.seq, this.config.readTimeoutMs - (performance.now() - started), 'read index: catching up', false);
        result = { seq: ack.seq };
      } catch (e) {
        result = { err: toWire(e instanceof ClusterUnavailableError ? e : new ClusterUnavailableError(`read index: ${(e as Error).message}`, false)) };
      }
      for (const done of round) done(result);
    }
    this.indexBusy = false;
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
