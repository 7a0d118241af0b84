/**
 * The node side of the client context: how a node's worker drains its
 * clients' slot rings into its own batches and answers them.
 *
 * Per-client order: a client's requests are taken strictly in order. In one
 * round the hub takes each client's leading writes (up to its first read)
 * into the node's batch; once that batch is applied it answers the reads
 * that follow, each after the replica caught up to the ctail observed when
 * the read was picked up. Whatever comes after waits for the next round.
 */
import {
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
} from './context.js';
import { OpReader, OpWriter, type ValueCodec } from './codec.js';
import { serialize } from 'node:v8';

/** What the hub needs from its replica. */
export interface HubHost {
  /** Queue a client's already-encoded write (arguments at `bytes[from, from+len)`). */
  enqueueClientWrite(client: number, seq: number, id: number, bytes: Uint8Array, from: number, len: number): void;
  /** Run read op `id` with arguments decoded from `r`, linearizably, and return its result. */
  serveRead(id: number, r: OpReader): unknown;
  readResultCodec(id: number): ValueCodec<unknown>;
  /** Ops the host can still take into its next batch. */
  readonly batchRoom: number;
}

export class ClientHub {
  readonly node: number;
  private readonly ctx: SharedContext;
  /** Next request to answer, per client (the node is DONE's only writer). */
  private readonly served: Int32Array;
  /** Clients whose DONE must be published at the end of the round. */
  private readonly touched: Uint8Array;
  private readonly reader: OpReader;
  private readonly scratch = new OpWriter(256);

  constructor(ctx: SharedContext, node: number) {
    this.ctx = ctx;
    this.node = node;
    this.served = new Int32Array(ctx.clients);
    this.touched = new Uint8Array(ctx.clients);
    for (let c = 0; c < ctx.clients; c++) this.served[c] = Atomics.load(ctx.words, ctx.clientAt(node, c) + CLIENT_DONE);
    this.reader = new OpReader(ctx.bytes);
    ctx.setNodeState(node, NodeState.Serving);
  }

  get doorbellIndex(): number {
    return this.ctx.nodeAt(this.node) + DOORBELL;
  }

  /** An async wait that resolves when a client rings (or at once if one has). */
  waitDoorbell(): ReturnType<typeof Atomics.waitAsync> {
    return Atomics.waitAsync(this.ctx.words, this.doorbellIndex, 0);
  }

  /** Clear the doorbell before draining, so a ring that comes after is not lost. */
  clearDoorbell(): void {
    Atomics.store(this.ctx.words, this.doorbellIndex, 0);
  }

  private tailOf(c: number): number {
    return Atomics.load(this.ctx.words, this.ctx.clientAt(this.node, c) + CLIENT_TAIL);
  }

  private active(c: number): boolean {
    return Atomics.load(this.ctx.words, this.ctx.clientAt(this.node, c) + CLIENT_STATE) === 1;
  }

  /** Any client has a request not yet answered. */
  hasWork(): boolean {
    for (let c = 0; c < this.ctx.clients; c++) if (this.active(c) && this.served[c] !== this.tailOf(c)) return true;
    return false;
  }

  /** Take every client's leading writes (up to its first read) into the host's batch. */
  gatherWrites(host: HubHost): number {
    const ctx = this.ctx;
    let taken = 0;
    for (let c = 0; c < ctx.clients; c++) {
      if (!this.active(c)) continue;
      const base = ctx.clientAt(this.node, c);
      const tail = this.tailOf(c);
      let seq = this.served[c]!;
      while (seq !== tail && taken < host.batchRoom) {
        const at = ctx.slotAt(base, seq);
        if (ctx.words[at] !== RequestKind.Write) break;
        const id = ctx.words[at + 1]!;
        const len = ctx.words[at + 2]!;
        if (len < 0 || len > ctx.maxPayloadBytes) {
          this.respondRejected(c, seq, 'malformed request');
        } else {
          host.enqueueClientWrite(c, seq, id, ctx.bytes, at * 4 + SLOT_HEADER_BYTES, len);
        }
        seq = (seq + 1) | 0;
        taken++;
      }
    }
    return taken;
  }

  /** Answer every client's leading reads. Returns how many were answered. */
  serveReads(host: HubHost): number {
    const ctx = this.ctx;
    let answered = 0;
    for (let c = 0; c < ctx.clients; c++) {
      if (!this.active(c)) continue;
      const base = ctx.clientAt(this.node, c);
      const tail = this.tailOf(c);
      let seq = this.served[c]!;
      while (seq !== tail) {
        const at = ctx.slotAt(base, seq);
        if (ctx.words[at] !== RequestKind.Read) break;
        const id = ctx.words[at + 1]!;
        const len = ctx.words[at + 2]!;
        const r = this.reader;
        r.pos = at * 4 + SLOT_HEADER_BYTES;
        r.end = r.pos + len;
        try {
          const result = host.serveRead(id, r);
          this.respondOk(c, seq, host.readResultCodec(id), result);
        } catch (e) {
          this.respondThrew(c, seq, e);
        }
        seq = (seq + 1) | 0;
        answered++;
      }
    }
    return answered;
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
    let bytes: Uint8Array;
    try {
      bytes = serialize(error);
    } catch {
      bytes = serialize(new Error(String(error)));
    }
    if (bytes.length > this.ctx.maxPayloadBytes) bytes = serialize(new Error('error too large to return'));
    this.respond(c, seq, ResponseStatus.Threw, bytes);
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
