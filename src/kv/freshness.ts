/**
 * Freshness from a channel shared memory cannot touch.
 *
 * Each thread of a store holds one `KvPeer`: MessagePorts to every other
 * peer (a full mesh made by `kvPeers` on the creating thread and handed to
 * workers in postMessage transfer lists). Message ports are private under
 * the threat model (only shared memory is hostile). After a write, a thread
 * announces its replica's chain (count, head), MAC'd under the chain key, at
 * most once per `announceMs` (a trailing announcement goes out from a timer
 * or the thread's next op). A read first drains its ports (at most once per
 * `announceMs`, synchronously with receiveMessageOnPort) and, if its replica
 * has applied fewer records than the newest count it has learned, catches
 * up to the log's tail and waits, at most `staleMs`, before throwing
 * KvStaleError. Messages sent before a port is picked up wait in its queue,
 * so a late joiner learns every earlier announcement.
 *
 * Every learned head is also compared with this thread's own view of the
 * chain at that count, whichever comes first: a replica compares it with
 * the head it already passed (checkLive in structure.ts) or reaches later
 * (apply); a client compares it with every node answer at that count
 * (`witness`). Two authentic heads for one count mean the log was forked
 * (records reordered or dropped under one replica only): the thread refuses
 * every op from then on (`conflict`).
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { type Cipher, MAC_BYTES, sameBytes } from './crypto.js';
import { KvConfigError } from './errors.js';

export const DEFAULT_ANNOUNCE_MS = 1;
export const DEFAULT_STALE_MS = 1000;
export const MAX_PEERS = 64;
/** Learned heads kept per thread (oldest dropped first). */
const EXPECTED_HEADS = 4096;

/** One thread's end of the mesh; pass `transferList` as postMessage's transfer list. */
export interface KvPeer {
  readonly kind: 'nr-kv-peer';
  readonly index: number;
  readonly ports: readonly MessagePort[];
  readonly transferList: readonly MessagePort[];
}

/** A full mesh of `n` peers (n(n-1)/2 channels): one per thread that will use the store. */
export function kvPeers(n: number): KvPeer[] {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PEERS) throw new KvConfigError(`kvPeers takes an integer from 1 to ${MAX_PEERS}`);
  const ports: MessagePort[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const { port1, port2 } = new MessageChannel();
      ports[i]!.push(port1);
      ports[j]!.push(port2);
    }
  }
  return ports.map((p, index) => ({ kind: 'nr-kv-peer', index, ports: p, transferList: p }));
}

interface Announcement {
  count: number;
  head: string;
  mac: string;
}

/** Ports of this thread's peers taken by a view (kept after its detach: a closed port cannot serve again). */
const claimedPorts = new WeakSet<MessagePort>();

/** One thread's announcements out and learned heads in. */
export class Freshness {
  /** The highest chain count any peer announced. */
  learned = 0;
  /** Heads learned (announced, or witnessed in node answers), by chain count: checked against this thread's own chain. */
  readonly expected = new Map<number, string>();
  /** Counts learned since this thread's replica last compared them with the heads it has passed (replicas only: `trackPassed`). */
  readonly unchecked: number[] = [];
  /** Why this thread saw two different authentic heads for one count (a forked log), or null. */
  conflict: string | null = null;
  private readonly ports: readonly MessagePort[];
  private nextPoll = 0;
  private lastSent = -Infinity;
  private sentCount = 0;
  private pending: { count: number; head: string } | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    peer: KvPeer | undefined,
    private readonly cipher: Cipher,
    readonly announceMs: number,
    readonly staleMs: number,
    /** A replica compares learned heads with the ones it already passed (`unchecked`); a client has no chain of its own. */
    private readonly trackPassed = false,
  ) {
    if (peer !== undefined && (peer === null || typeof peer !== 'object' || peer.kind !== 'nr-kv-peer' || !Array.isArray(peer.ports))) {
      throw new KvConfigError('peer must be one element of kvPeers(n)');
    }
    const ports = peer?.ports ?? [];
    // Two views draining one peer's ports would each learn only some announcements (a weaker freshness
    // bound than either believes), and a peer whose view detached has closed ports (it would learn nothing).
    if (ports.some((p) => claimedPorts.has(p))) {
      throw new KvConfigError('this kvPeers element is already used by a store or client in this thread: a peer serves one attach or connect, and its ports close when that view detaches');
    }
    for (const p of ports) claimedPorts.add(p);
    this.ports = ports;
    for (const p of this.ports) p.unref();
  }

  /** Give the peer back unused (an attach that failed after taking it): a later attach may take it. */
  release(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const p of this.ports) claimedPorts.delete(p);
  }

  get enabled(): boolean {
    return this.ports.length > 0;
  }

  /** Tell every peer this replica has applied `count` records with chain head `head` (throttled). */
  announce(count: number, head: string): void {
    if (this.ports.length === 0 || count <= this.sentCount) return;
    const now = performance.now();
    if (now - this.lastSent >= this.announceMs) this.send(count, head, now);
    else {
      this.pending = { count, head };
      if (this.timer === null) {
        this.timer = setTimeout(() => this.flush(), this.announceMs);
        this.timer.unref();
      }
    }
  }

  /** Send a throttled announcement that is due. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const p = this.pending;
    if (p !== null) this.send(p.count, p.head, performance.now());
  }

  /** Drain the ports if `announceMs` passed since the last poll (or `force`), and flush a due announcement. */
  poll(force = false): void {
    if (this.ports.length === 0) return;
    const now = performance.now();
    if (!force && now < this.nextPoll) return;
    this.nextPoll = now + this.announceMs;
    if (this.pending !== null && now - this.lastSent >= this.announceMs) this.flush();
    for (const port of this.ports) {
      for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) this.learn(m.message as Announcement);
    }
  }

  close(): void {
    this.flush();
    if (this.timer !== null) clearTimeout(this.timer);
    for (const p of this.ports) p.close();
  }

  private send(count: number, head: string, now: number): void {
    this.pending = null;
    this.lastSent = now;
    this.sentCount = count;
    const msg: Announcement = { count, head, mac: this.macOf(count, head).toString('latin1') };
    for (const p of this.ports) p.postMessage(msg);
  }

  private learn(m: Announcement): void {
    // The channel is private; the MAC (chain domain) also rules out a message from another store's mesh.
    if (m === null || typeof m !== 'object' || !Number.isSafeInteger(m.count) || m.count < 0 || typeof m.head !== 'string' || typeof m.mac !== 'string') return;
    if (!sameBytes(Buffer.from(m.mac, 'latin1'), this.macOf(m.count, m.head))) return;
    if (m.count > this.learned) this.learned = m.count;
    if (this.cipher.secure && this.witness(m.count, m.head) && this.trackPassed) this.unchecked.push(m.count);
  }

  /**
   * Record an authentic head for `count` (an announcement, or a node's MAC'd
   * answer on a client). False if another authentic head is known for that
   * count: the chain forked, and `conflict` says so from now on.
   */
  witness(count: number, head: string): boolean {
    const had = this.expected.get(count);
    if (had !== undefined && had !== head) {
      this.conflict ??= `two different authentic chain heads for record ${count}: the log was forked (records reordered or dropped under one replica)`;
      return false;
    }
    if (had === undefined) {
      this.expected.set(count, head);
      if (this.expected.size > EXPECTED_HEADS) this.expected.delete(this.expected.keys().next().value!);
    }
    return true;
  }

  private macOf(count: number, head: string): Buffer {
    const b = Buffer.alloc(8 + head.length + 8);
    b.write('announce', 0, 'latin1');
    b.writeDoubleLE(count, 8);
    b.write(head, 16, 'latin1');
    return this.cipher.secure ? this.cipher.tagOf('chain', b) : Buffer.alloc(MAC_BYTES);
  }
}
