/**
 * A node's shared context: the slot rings through which threads that hold
 * no replica (clients: the main thread, pool threads, request handlers)
 * hand ops to a node, whose worker combines them into its log batches.
 * This is the cross-thread half of flat combining (the Rust crate's
 * context.rs): one ring of pending-op slots per client, and the node's
 * worker as the combiner.
 *
 * ## SharedArrayBuffer layout
 * Int32 word indexes; a line is 64 bytes (16 words).
 *
 * | words                    | what                                                   |
 * |--------------------------|--------------------------------------------------------|
 * | 0..15                    | header: MAGIC, NODES, CLIENTS (per node), SLOTS, SLOT_BYTES |
 * | node r, +0               | NODE_STATE: 0 absent, 1 serving, 2 gone                |
 * | node r, +1               | NODE_EPOCH: bumped each time a hub starts serving the node (a new worker, or after recovery) |
 * | node r, +16              | DOORBELL: a client sets 1 (and notifies) after enqueuing; the node clears it before draining |
 * | client c of node r, +0   | STATE: 0 free, else `owner << 2 | 1` active, `owner << 2 | 2` abandoned (owner: the client thread's threadId) |
 * | client c, +1             | EPOCH: the node epoch the client connected in; a hub serves only its own epoch's clients |
 * | client c, +16            | TAIL: requests enqueued (written by the client only)   |
 * | client c, +32            | DONE: requests answered (written by the node only); +33 DONE_WAITERS (client asleep) |
 * | client c, +48            | SLOTS request slots of SLOT_BYTES each                 |
 *
 * Every client sits on its own lines, so clients never share a written line
 * with each other; TAIL and DONE are on separate lines because they have
 * different writers.
 *
 * A request slot (client writes, node reads): word 0 kind (1 read, 2 write),
 * word 1 op id, word 2 argument bytes, word 3 unused; arguments from byte 16.
 * Write arguments use the structure's log codec, so the node copies them
 * into its log entry without re-encoding. The node overwrites the same slot
 * with the response: word 0 status (1 ok, 2 the op threw, 3 rejected),
 * word 2 payload bytes, word 3 the request's sequence number (the client
 * checks it); payload from byte 16.
 *
 * ## Protocol
 * - The client writes request `TAIL & (SLOTS-1)`, then publishes it with
 *   `TAIL += 1` (a store after the payload: the node never sees a torn
 *   request), then rings the doorbell: unless a plain load already sees it
 *   rung, `exchange(DOORBELL, 1)`, and `notify` only when it was 0, i.e.
 *   when the node may be asleep. (A ring seen as already set was set after
 *   the node's last clear, so that node round has yet to scan every TAIL.)
 *   A ringer killed between its exchange and its notify leaves the bell set
 *   and the node asleep; later rings see it set and skip the notify. So the
 *   node's sleep on the bell is bounded (DOORBELL_RECHECK_MS): such a lost
 *   wake delays its clients by at most that, never forever.
 * - The node clears DOORBELL, then drains every active client from its own
 *   cursor up to TAIL, answering in order and publishing `DONE`. A client
 *   that rings after the clear sets it again, so no ring is lost.
 * - A client has at most SLOTS requests in flight (`TAIL - consumed`); it
 *   reuses a slot only after it has read that slot's response.
 * - Counters wrap modulo 2^32 like log positions.
 * - A client whose thread exits (its exit hook), closes with requests still
 *   unanswered, or is declared dead by its manager (`declareClientDead`, after
 *   `worker.terminate()`) is abandoned: its STATE turns abandoned, and the
 *   node answers what it already sent (nobody reads the answers), then frees
 *   the slot. One with nothing in flight is freed at once. Owner and state
 *   share one word, so abandoning by thread id is one CAS and can never hit
 *   a slot that meanwhile went to another thread.
 */
import { ConfigError, HandleMismatchError } from '../errors.js';
import { DEFAULTS, LIMITS } from '../defaults.js';
import { LINE_WORDS } from '../log/layout.js';

const MAGIC = 0x4e524378; // 'NRCx'
const H_MAGIC = 0;
const H_NODES = 1;
const H_CLIENTS = 2;
const H_SLOTS = 3;
const H_SLOT_BYTES = 4;

const LINE = LINE_WORDS;
const HEADER_WORDS = LINE;
const NODE_HEADER_WORDS = 2 * LINE;
const CLIENT_HEADER_WORDS = 3 * LINE;

export const NODE_STATE = 0;
export const NODE_EPOCH = 1;
export const DOORBELL = LINE;
export const CLIENT_STATE = 0;
export const CLIENT_EPOCH = 1;
/** Bumped by every client that takes the slot: a client whose slot was freed under it (declared dead) and taken again, by its own thread too, sees it change. */
export const CLIENT_CLAIM = 2;
export const CLIENT_TAIL = LINE;
export const CLIENT_DONE = 2 * LINE;
export const CLIENT_DONE_WAITERS = 2 * LINE + 1;

export const enum NodeState {
  Absent = 0,
  Serving = 1,
  Gone = 2,
}
/** The low bits of a client's STATE word; the owner's threadId sits above them. */
export const enum ClientState {
  Free = 0,
  Active = 1,
  Abandoned = 2,
}
export const STATE_BITS = 3;

export const enum RequestKind {
  Read = 1,
  Write = 2,
}
export const enum ResponseStatus {
  Ok = 1,
  Threw = 2,
  Rejected = 3,
}

/** Bytes of a slot's header; arguments and results start here. */
export const SLOT_HEADER_BYTES = 16;

export interface ClientSlotOptions {
  /** Client slots per node. Default 0: no clients. At most 256. */
  clients?: number;
  /** Requests one client may have in flight: a power of two from 1 to 1024. Default 64. */
  clientSlots?: number;
  /** Bytes per request slot (header included): a multiple of 16 from 64 to 65536. Default 256. */
  clientSlotBytes?: number;
}

export interface ContextGeometry {
  nodes: number;
  clients: number;
  slots: number;
  slotBytes: number;
  clientWords: number;
  nodeWords: number;
  totalBytes: number;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function contextGeometry(nodes: number, options: ClientSlotOptions): ContextGeometry {
  const clients = options.clients ?? DEFAULTS.clients;
  const slots = options.clientSlots ?? DEFAULTS.clientSlots;
  const slotBytes = options.clientSlotBytes ?? DEFAULTS.clientSlotBytes;
  if (!Number.isInteger(clients) || clients < 0 || clients > LIMITS.maxClients) {
    throw new ConfigError(`clients must be an integer from 0 to ${LIMITS.maxClients}, got ${String(clients)}`);
  }
  if (!isPowerOfTwo(slots) || slots > LIMITS.maxClientSlots) throw new ConfigError(`clientSlots must be a power of two from 1 to ${LIMITS.maxClientSlots}, got ${String(slots)}`);
  if (!Number.isInteger(slotBytes) || slotBytes % 16 !== 0 || slotBytes < LIMITS.minClientSlotBytes || slotBytes > LIMITS.maxClientSlotBytes) {
    throw new ConfigError(`clientSlotBytes must be a multiple of 16 from ${LIMITS.minClientSlotBytes} to ${LIMITS.maxClientSlotBytes}, got ${String(slotBytes)}`);
  }
  const clientWords = CLIENT_HEADER_WORDS + (slots * slotBytes) / 4;
  const nodeWords = NODE_HEADER_WORDS + clients * clientWords;
  return { nodes, clients, slots, slotBytes, clientWords, nodeWords, totalBytes: (HEADER_WORDS + nodes * nodeWords) * 4 };
}

export function createContextBuffer(nodes: number, options: ClientSlotOptions): SharedArrayBuffer {
  const g = contextGeometry(nodes, options);
  const sab = new SharedArrayBuffer(g.totalBytes);
  const w = new Int32Array(sab);
  w[H_MAGIC] = MAGIC;
  w[H_NODES] = nodes;
  w[H_CLIENTS] = g.clients;
  w[H_SLOTS] = g.slots;
  w[H_SLOT_BYTES] = g.slotBytes;
  return sab;
}

/** One thread's view of a handle's client context. */
export class SharedContext {
  readonly words: Int32Array;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly nodes: number;
  readonly clients: number;
  readonly slots: number;
  readonly slotBytes: number;
  private readonly clientWords: number;
  private readonly nodeWords: number;

  constructor(sab: SharedArrayBuffer) {
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < HEADER_WORDS * 4) {
      throw new HandleMismatchError('handle has no client context');
    }
    const w = new Int32Array(sab);
    if (w[H_MAGIC] !== MAGIC) throw new HandleMismatchError('buffer is not a node-replication client context');
    const g = contextGeometry(w[H_NODES]!, { clients: w[H_CLIENTS]!, clientSlots: w[H_SLOTS]!, clientSlotBytes: w[H_SLOT_BYTES]! });
    if (g.totalBytes !== sab.byteLength) throw new HandleMismatchError('client context size does not match its header');
    this.words = w;
    this.bytes = new Uint8Array(sab);
    this.view = new DataView(sab);
    this.nodes = g.nodes;
    this.clients = g.clients;
    this.slots = g.slots;
    this.slotBytes = g.slotBytes;
    this.clientWords = g.clientWords;
    this.nodeWords = g.nodeWords;
  }

  /** Largest argument or result payload one slot carries. */
  get maxPayloadBytes(): number {
    return this.slotBytes - SLOT_HEADER_BYTES;
  }

  nodeAt(node: number): number {
    return HEADER_WORDS + node * this.nodeWords;
  }
  clientAt(node: number, client: number): number {
    return this.nodeAt(node) + NODE_HEADER_WORDS + client * this.clientWords;
  }
  /** Word index of the slot that request `seq` of this client uses. */
  slotAt(clientBase: number, seq: number): number {
    return clientBase + CLIENT_HEADER_WORDS + (seq & (this.slots - 1)) * (this.slotBytes >> 2);
  }

  nodeState(node: number): NodeState {
    return Atomics.load(this.words, this.nodeAt(node) + NODE_STATE) as NodeState;
  }

  nodeEpoch(node: number): number {
    return Atomics.load(this.words, this.nodeAt(node) + NODE_EPOCH);
  }

  /** A hub starts serving `node`: a new epoch, whose clients are the only ones it serves. */
  startEpoch(node: number): number {
    const epoch = (Atomics.add(this.words, this.nodeAt(node) + NODE_EPOCH, 1) + 1) | 0;
    this.setNodeState(node, NodeState.Serving);
    return epoch;
  }

  clientEpoch(node: number, client: number): number {
    return Atomics.load(this.words, this.clientAt(node, client) + CLIENT_EPOCH);
  }

  /** Mark a node serving or gone; going away wakes every client of it. */
  setNodeState(node: number, state: NodeState): void {
    Atomics.store(this.words, this.nodeAt(node) + NODE_STATE, state);
    if (state === NodeState.Gone) {
      for (let c = 0; c < this.clients; c++) Atomics.notify(this.words, this.clientAt(node, c) + CLIENT_DONE);
      Atomics.notify(this.words, this.nodeAt(node) + DOORBELL);
    }
  }

  activeClients(node: number): number {
    let n = 0;
    for (let c = 0; c < this.clients; c++) if (this.clientState(node, c) === ClientState.Active) n++;
    return n;
  }

  clientState(node: number, client: number): ClientState {
    return (Atomics.load(this.words, this.clientAt(node, client) + CLIENT_STATE) & STATE_BITS) as ClientState;
  }

  /** Claim a free client slot of `node` for thread `owner`; returns its index or -1. */
  claimClient(node: number, owner: number): number {
    const claimed = (owner << 2) | ClientState.Active;
    for (let c = 0; c < this.clients; c++) {
      if (Atomics.compareExchange(this.words, this.clientAt(node, c) + CLIENT_STATE, 0, claimed) === 0) return c;
    }
    return -1;
  }

  /**
   * The client in slot `client` is gone (closed or dead): free the slot if
   * nothing it sent is unanswered, else mark it abandoned and ring the node,
   * which answers the rest and then frees it. `expected` is the STATE word
   * the caller saw (owner and Active), so a slot reclaimed meanwhile by
   * another thread is left alone.
   */
  abandonClient(node: number, client: number, expected: number): void {
    const base = this.clientAt(node, client);
    const drained = Atomics.load(this.words, base + CLIENT_DONE) === Atomics.load(this.words, base + CLIENT_TAIL);
    const next = drained ? ClientState.Free : (expected & ~STATE_BITS) | ClientState.Abandoned;
    // Always notify: the bell may be set by a ringer that died before its own notify.
    if (Atomics.compareExchange(this.words, base + CLIENT_STATE, expected, next) === expected && !drained) this.ring(node, true);
  }

  /** Abandon every client slot, on every node, held by thread `owner`. */
  abandonClientsOf(owner: number): number {
    const held = (owner << 2) | ClientState.Active;
    let n = 0;
    for (let node = 0; node < this.nodes; node++) {
      for (let c = 0; c < this.clients; c++) {
        if (Atomics.load(this.words, this.clientAt(node, c) + CLIENT_STATE) !== held) continue;
        this.abandonClient(node, c, held);
        n++;
      }
    }
    return n;
  }

  /**
   * Requests thread `owner` sent that a node may still take into its log:
   * those of its slots (active or abandoned) at a node that serves their
   * epoch, sent and not yet answered (DONE is published once the entry is
   * covered by CTAIL). A gone or replaced node never takes them.
   */
  pendingOf(owner: number): number {
    let n = 0;
    for (let node = 0; node < this.nodes; node++) {
      const state = this.nodeState(node);
      if (state === NodeState.Gone) continue;
      const epoch = this.nodeEpoch(node);
      for (let c = 0; c < this.clients; c++) {
        const base = this.clientAt(node, c);
        const s = Atomics.load(this.words, base + CLIENT_STATE);
        if (s === 0 || s >>> 2 !== owner) continue;
        const e = this.clientEpoch(node, c);
        if (e !== epoch && !(e === 0 && epoch === 1) && state !== NodeState.Absent) continue;
        n += (Atomics.load(this.words, base + CLIENT_TAIL) - Atomics.load(this.words, base + CLIENT_DONE)) | 0;
      }
    }
    return n;
  }

  /**
   * A client of an earlier epoch abandoned its slot: no node will ever
   * answer it, so mark everything answered and free the slot (the new
   * epoch's hub calls this; it owns DONE).
   */
  freeStale(node: number, client: number): void {
    const base = this.clientAt(node, client);
    const s = Atomics.load(this.words, base + CLIENT_STATE);
    if ((s & STATE_BITS) !== ClientState.Abandoned) return;
    Atomics.store(this.words, base + CLIENT_DONE, Atomics.load(this.words, base + CLIENT_TAIL));
    Atomics.compareExchange(this.words, base + CLIENT_STATE, s, ClientState.Free);
  }

  /** The node answered everything an abandoned client sent: free its slot. */
  freeIfAbandoned(node: number, client: number): void {
    const idx = this.clientAt(node, client) + CLIENT_STATE;
    const s = Atomics.load(this.words, idx);
    if ((s & STATE_BITS) === ClientState.Abandoned) Atomics.compareExchange(this.words, idx, s, ClientState.Free);
  }

  /**
   * Ring a node's doorbell; only the first ring since the node's last drain
   * notifies, unless `always` (rare paths: a ringer may have died between
   * setting the bell and notifying; the node's bounded sleep covers the rest).
   */
  ring(node: number, always = false): void {
    const idx = this.nodeAt(node) + DOORBELL;
    // Already rung since the node's last drain: the read keeps the line shared, no RMW.
    if (!always && Atomics.load(this.words, idx) !== 0) return;
    if (Atomics.exchange(this.words, idx, 1) === 0 || always) Atomics.notify(this.words, idx);
  }
}
