/**
 * The site's position board: a small SharedArrayBuffer the bridge writes
 * and the site's replicas read for stats() (lag) and nothing else; no
 * decision about data is taken from it.
 *
 * | bytes | written by | field |
 * |---|---|---|
 * | 0..7 (BigInt64 [0]) | bridge | highest stream sequence the bridge knows exists (last seen + pending, or a publish acknowledgement) |
 * | 64..71 (BigInt64 [8]) | bridge | highest stream sequence appended to the local log |
 * | 128..131 (Int32 [32]) | bridge | 1 while connected to NATS, 0 while not |
 * | 192..199 (BigInt64 [24]) | bridge | stream sequence of the last snapshot installed (0: none) |
 * | 256..259 (Int32 [64]) | bridge | snapshots this site stored in the snapshot stream |
 *
 * Each field is on its own 64-byte line.
 */
export const POSITIONS_BYTES = 320;
const KNOWN = 0;
const APPENDED = 8;
const CONNECTED = 32;
const INSTALLED = 24;
const STORED = 64;

export class Positions {
  private readonly big: BigInt64Array;
  private readonly words: Int32Array;
  constructor(readonly buffer: SharedArrayBuffer) {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength !== POSITIONS_BYTES) throw new TypeError('not a site position board');
    this.big = new BigInt64Array(buffer);
    this.words = new Int32Array(buffer);
  }
  static create(): Positions {
    return new Positions(new SharedArrayBuffer(POSITIONS_BYTES));
  }
  known(): number {
    return Number(Atomics.load(this.big, KNOWN));
  }
  appended(): number {
    return Number(Atomics.load(this.big, APPENDED));
  }
  connected(): boolean {
    return Atomics.load(this.words, CONNECTED) === 1;
  }
  snapshotInstalledAt(): number {
    return Number(Atomics.load(this.big, INSTALLED));
  }
  snapshotsStored(): number {
    return Atomics.load(this.words, STORED);
  }
  setInstalled(seq: number): void {
    Atomics.store(this.big, INSTALLED, BigInt(seq));
  }
  countStored(): void {
    Atomics.add(this.words, STORED, 1);
  }
  raiseKnown(seq: number): void {
    if (seq > this.known()) Atomics.store(this.big, KNOWN, BigInt(seq));
  }
  setAppended(seq: number): void {
    Atomics.store(this.big, APPENDED, BigInt(seq));
    this.raiseKnown(seq);
  }
  setConnected(on: boolean): void {
    Atomics.store(this.words, CONNECTED, on ? 1 : 0);
  }
}
