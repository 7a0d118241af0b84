/**
 * Out-of-line write payloads.
 *
 * Layout of the payload SharedArrayBuffer: `maxReplicas` equal regions, one
 * per replica slot; the replica in slot i is the only writer of region i, so
 * allocation needs no atomics. A large write is copied once into the
 * writer's region; its log op carries (offset, length); every replica
 * copies from there into its own pages when it applies the op.
 *
 * Each region is a ring of allocations freed in FIFO order. An allocation is
 * stamped with `replica.logMark()` taken after its op committed (the core's
 * LogMarkQueue); it is free once `replica.appliedEverywhere(mark)` says no replica can still apply
 * that op (fenced replicas recover by state transfer, not by replay).
 */
import { LogMarkQueue } from '../nr/index.js';
import { FsError } from './errors.js';

interface Allocation {
  start: number;
  end: number;
}

/** The part of a replica this module needs (its slot and the reclamation marks). */
export interface MarkSource {
  readonly id: number;
  logMark(): number;
  appliedEverywhere(mark: number): boolean;
}

/** How long a large write waits for payload space before failing with EAGAIN. */
const PAYLOAD_WAIT_MS = 10_000;

/** See `PayloadRing.hot`. */
const HOT_BYTES = 512 * 1024;

export class PayloadRing {
  /** Absolute offset of this region in the payload buffer, and its size. */
  readonly base: number;
  readonly size: number;
  private readonly bytes: Uint8Array;
  /** Committed allocations, stamped with the log mark after their op. */
  private readonly live: LogMarkQueue<Allocation>;
  /** The allocation whose op is being committed now (never reclaimable yet). */
  private inFlight: Allocation | null = null;
  private writePos = 0;
  /** Bytes at the start of the region that allocations keep to while replicas keep up. */
  private readonly hot: number;
  private sinceReclaim = 0;
  private readonly sleepCell = new Int32Array(new SharedArrayBuffer(4));

  constructor(payload: SharedArrayBuffer, regions: number, private readonly replica: MarkSource) {
    this.size = Math.floor(payload.byteLength / regions / 8) * 8;
    this.base = replica.id * this.size;
    this.bytes = new Uint8Array(payload, this.base, this.size);
    this.hot = Math.min(this.size, HOT_BYTES);
    this.live = new LogMarkQueue(replica);
  }

  /**
   * Copy `src` into the region; returns its absolute offset, or -1 when the
   * region has no room right now (the caller then logs the data inline, or
   * retries: see `NrFs`).
   */
  tryPut(src: Uint8Array): number {
    const len = src.length;
    if (len > this.size) return -1;
    // Past the hot window, try to free the oldest allocations so the next
    // ones wrap back to the start: a small window stays in cache, a ring
    // streaming through the whole region does not. Reclaiming asks whether
    // replicas moved on (it may scan their slots), so not on every call.
    if (this.writePos + len > this.hot && (this.sinceReclaim++ & 15) === 0) this.reclaim();
    let at = this.fit(len);
    if (at < 0) {
      this.reclaim();
      at = this.fit(len);
      if (at < 0) return -1;
    }
    this.bytes.set(src, at);
    this.writePos = at + len;
    this.inFlight = { start: at, end: at + len };
    return this.base + at;
  }

  /**
   * Run a write whose data is `src` (larger than the inline size): out of
   * line in this region. When the region is full and the data fits a log
   * entry (`logInlineLimit`), it goes inline instead (log pressure also makes
   * lagging replicas catch up, which frees the region); larger data waits
   * for room, catching up (`sync`) and sleeping 1 ms at a time, for up to
   * 10 s (EAGAIN), or fails at once with EFBIG when it can never fit.
   */
  run<T>(src: Uint8Array, logInlineLimit: number, sync: () => void, write: (ref: number) => T): T {
    let ref = this.tryPut(src);
    if (ref < 0 && src.length <= logInlineLimit) return write(-1);
    if (ref < 0) {
      if (src.length > this.size) throw new FsError('EFBIG', 'write', undefined, undefined, `larger than the ${this.size}-byte payload region and the inline limit`);
      const deadline = Date.now() + PAYLOAD_WAIT_MS;
      while (ref < 0) {
        if (Date.now() > deadline) throw new FsError('EAGAIN', 'write', undefined, undefined, 'payload region still held by replicas that have not caught up');
        sync();
        Atomics.wait(this.sleepCell, 0, 0, 1);
        ref = this.tryPut(src);
      }
    }
    try {
      return write(ref);
    } finally {
      this.committed();
    }
  }

  /** The op that reads the last allocation committed (or failed): stamp it. */
  committed(): void {
    if (this.inFlight === null) return;
    this.live.push(this.inFlight);
    this.inFlight = null;
  }

  /** Allocations still held. */
  get held(): number {
    return this.live.length + (this.inFlight === null ? 0 : 1);
  }

  /** Free allocations from the oldest while every replica has applied their ops. */
  reclaim(): void {
    this.live.reclaim(() => {});
    if (this.held === 0) this.writePos = 0;
  }

  private fit(len: number): number {
    const first = this.live.oldest() ?? this.inFlight;
    if (first === undefined || first === null) return 0;
    const oldest = first.start;
    if (this.writePos > oldest) {
      // Free space is [writePos, size) and [0, oldest): wrap early to stay in the hot window.
      if (this.writePos + len > this.hot && oldest >= len) return 0;
      if (this.size - this.writePos >= len) return this.writePos;
      return oldest >= len ? 0 : -1;
    }
    return oldest - this.writePos >= len ? this.writePos : -1;
  }
}
