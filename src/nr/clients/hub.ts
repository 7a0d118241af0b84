/**
 * The node side of the client context: how a node's worker drains its
 * clients' slot rings into its own batches and answers them.
 *
 * Per-client order: in one round the hub takes each client's whole window
 * of requests, in order, into the node's next batch. The writes go into the
 * log entry; each read runs while the node applies that entry, right after
 * the client's writes that precede it, so it sees them and not the ones
 * after. Every read thus sees a prefix of the log that includes everything
 * before the entry, and so every write completed before the read was sent.
 * Answers are published only after the node's replay raised ctail past the
 * entry, so no client can see a write that a later read elsewhere misses.
 */
import {
  ClientState,
  CLIENT_DONE,
  CLIENT_DONE_WAITERS,
  CLIENT_STATE,
  CLIENT_TAIL,
  DOORBELL,
  NodeState,
  RequestKind,
  ResponseStatus,
  SharedContext,
  SLOT_HEADER_BYTES,
  STATE_BITS,
} from './context.js';
import { OpReader, OpWriter, type ValueCodec } from '../codec.js';
import { serialize } from 'node:v8';
import { DOORBELL_RECHECK_MS } from '../defaults.js';
import { encodeThrown } from './thrown.js';
import type { WaitAsyncResult } from '../log/wait.js';
import type { HubHost, NodeHub } from '../replica/node-hub.js';

export class ClientHub implements NodeHub {
  readonly node: number;
  private readonly ctx: SharedContext;
  /** Next request to answer, per client (the node is DONE's only writer). */
  private readonly served: Int32Array;
  /** Clients whose DONE must be published at the end of the round. */
  private readonly touched: Uint8Array;
  private readonly reader: OpReader;
  private readonly scratch = new OpWriter(256);
  /** The epoch this hub serves: clients that connected in another never are. */
  private epoch = 0;

  constructor(ctx: SharedContext, node: number) {
    this.ctx = ctx;
    this.node = node;
    this.served = new Int32Array(ctx.clients);
    this.touched = new Uint8Array(ctx.clients);
    this.reader = new OpReader(ctx.bytes);
    this.restart();
  }

  /**
   * Start a new serving epoch (a new worker in this slot, or after a
   * recovery that replaced our state). Clients of earlier epochs are never
   * served again: their in-flight ops stay unanswered, and those clients
   * fail with NodeGoneError ('unknown' for what they had sent).
   */
  restart(): void {
    const ctx = this.ctx;
    this.touched.fill(0);
    this.epoch = ctx.startEpoch(this.node);
    for (let c = 0; c < ctx.clients; c++) this.served[c] = Atomics.load(ctx.words, ctx.clientAt(this.node, c) + CLIENT_DONE);
  }

  /** Client c connected in this hub's epoch. */
  private ours(c: number): boolean {
    const e = this.ctx.clientEpoch(this.node, c);
    // Epoch 0: the client connected before the node's first worker came.
    return e === this.epoch || (e === 0 && this.epoch === 1);
  }

  get doorbellIndex(): number {
    return this.ctx.nodeAt(this.node) + DOORBELL;
  }

  /**
   * An async wait that resolves when a client rings (or at once if one has),
   * or after DOORBELL_RECHECK_MS: a ringer killed between setting the bell
   * and notifying must not leave the node deaf.
   */
  waitDoorbell(): WaitAsyncResult {
    return Atomics.waitAsync(this.ctx.words, this.doorbellIndex, 0, DOORBELL_RECHECK_MS);
  }

  /** Clear the doorbell before draining, so a ring that comes after is not lost. */
  clearDoorbell(): void {
    Atomics.store(this.ctx.words, this.doorbellIndex, 0);
  }

  private tailOf(c: number): number {
    return Atomics.load(this.ctx.words, this.ctx.clientAt(this.node, c) + CLIENT_TAIL);
  }

  /**
   * Any client (active or abandoned) has a request not yet answered. Runs
   * after every commit and before every serving round, so it is also where
   * an abandoned client's slot is freed: its TAIL no longer moves, and once
   * everything up to it is answered and published, nobody needs the slot.
   */
  hasWork(): boolean {
    const ctx = this.ctx;
    let work = false;
    for (let c = 0; c < ctx.clients; c++) {
      const base = ctx.clientAt(this.node, c);
      const state = Atomics.load(ctx.words, base + CLIENT_STATE);
      if (state === 0) continue;
      if (!this.ours(c)) {
        // An earlier epoch's client: never served. If it left, free its slot for a client of ours.
        ctx.freeStale(this.node, c);
        this.served[c] = Atomics.load(ctx.words, base + CLIENT_DONE);
        continue;
      }
      const tail = this.tailOf(c);
      if (this.served[c] !== tail) work = true;
      else if ((state & STATE_BITS) === ClientState.Abandoned && Atomics.load(ctx.words, base + CLIENT_DONE) === tail) {
        ctx.freeIfAbandoned(this.node, c);
      }
    }
    return work;
  }

  /** Take every client's unanswered requests, in order, into the host's next batch. */
  gather(host: HubHost): number {
    const ctx = this.ctx;
    let taken = 0;
    let asked = false;
    for (let c = 0; c < ctx.clients && taken < host.batchRoom; c++) {
      const base = ctx.clientAt(this.node, c);
      if (Atomics.load(ctx.words, base + CLIENT_STATE) === 0 || !this.ours(c)) continue;
      const tail = this.tailOf(c);
      if (this.served[c] === tail) continue;
      // Asked only when some client has work: a fenced node takes nothing (HubHost.mayTakeRequests).
      if (!asked && !host.mayTakeRequests()) return 0;
      asked = true;

      for (let seq = this.served[c]!; seq !== tail && taken < host.batchRoom; seq = (seq + 1) | 0, taken++) {
        const at = ctx.slotAt(base, seq);
        const kind = ctx.words[at];
        const len = ctx.words[at + 2]!;
        const malformed = (kind !== RequestKind.Write && kind !== RequestKind.Read) || len < 0 || len > ctx.maxPayloadBytes;
        host.enqueueClientOp(c, seq, kind === RequestKind.Write, malformed ? -1 : ctx.words[at + 1]!, ctx.bytes, at * 4 + SLOT_HEADER_BYTES, malformed ? 0 : len);
      }
    }
    return taken;
  }

  /**
   * A reader over request `seq`'s arguments. `bytes` is the length gather
   * validated (within the slot): the slot's length word is shared memory and
   * may have changed since, so it is not read again.
   */
  requestArgs(c: number, seq: number, bytes: number): OpReader {
    const ctx = this.ctx;
    const at = ctx.slotAt(ctx.clientAt(this.node, c), seq);
    const r = this.reader;
    r.pos = at * 4 + SLOT_HEADER_BYTES;
    r.end = r.pos + bytes;
    return r;
  }

  respondOk(c: number, seq: number, codec: ValueCodec<unknown>, value: unknown): void {
    const w = this.scratch;
    w.pos = 0;
    try {
      codec.encode(w, value);
    } catch (e) {
      this.respondRejected(c, seq, `result could not be encoded (the op took effect): ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (w.pos > this.ctx.maxPayloadBytes) {
      this.respondRejected(c, seq, `result is ${w.pos} bytes, more than a slot holds (the op took effect)`);
      return;
    }
    this.respond(c, seq, ResponseStatus.Ok, w.bytes.subarray(0, w.pos));
  }

  respondThrew(c: number, seq: number, error: unknown): void {
    this.respond(c, seq, ResponseStatus.Threw, encodeThrown(error, this.ctx.maxPayloadBytes));
  }

  private respondRejected(c: number, seq: number, message: string): void {
    const bytes = serialize(message.slice(0, Math.max(0, this.ctx.maxPayloadBytes - 16)));
    this.respond(c, seq, ResponseStatus.Rejected, bytes);
  }

  private respond(c: number, seq: number, status: ResponseStatus, payload: Uint8Array): void {
    const ctx = this.ctx;
    const at = ctx.slotAt(ctx.clientAt(this.node, c), seq);
    ctx.words[at] = status;
    ctx.words[at + 2] = payload.length;
    ctx.words[at + 3] = seq; // the client checks it answers its request
    ctx.bytes.set(payload, at * 4 + SLOT_HEADER_BYTES);
    this.served[c] = (seq + 1) | 0;
    this.touched[c] = 1;
  }

  /** Publish DONE for every client answered this round, waking those asleep. */
  publish(): void {
    const ctx = this.ctx;
    for (let c = 0; c < ctx.clients; c++) {
      if (this.touched[c] === 0) continue;
      this.touched[c] = 0;
      const base = ctx.clientAt(this.node, c);
      Atomics.store(ctx.words, base + CLIENT_DONE, this.served[c]!);
      if (Atomics.load(ctx.words, base + CLIENT_DONE_WAITERS) !== 0) Atomics.notify(ctx.words, base + CLIENT_DONE);
    }
  }

  /** The node is leaving: wake every client with NodeGoneError from now on. */
  close(): void {
    this.ctx.setNodeState(this.node, NodeState.Gone);
  }
}
