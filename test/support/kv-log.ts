/** Test-side view of a KV store's NR log entries, to tamper with whole records the way an attacker would. */
import type { KvHandle } from '../../src/kv/index.js';
import { OP_HEADER_BYTES, SharedLog, TAIL } from '../../src/nr/log.js';

export interface LoggedRecord {
  /** Log position of the entry holding it. */
  pos: number;
  /** Byte offset of the entry header in the data ring. */
  entryAt: number;
  /** Byte offset of the record (the op's bytes) and its length, in the data ring. */
  at: number;
  len: number;
}

export function logOf(h: KvHandle): SharedLog {
  return new SharedLog(h.nr.memory, new Int32Array(h.nr.memory.buffer)[2]!);
}

/** Every record (write op) in the log from position 0 to TAIL, in log order (no wrap: tests use fresh, small logs). */
export function records(h: KvHandle): LoggedRecord[] {
  const log = logOf(h);
  const tail = Atomics.load(log.words, TAIL);
  const out: LoggedRecord[] = [];
  for (let pos = 0; pos < tail; ) {
    const cells = log.entryCells(pos);
    if ((log.entryKindWord(pos) & 0xff) === 1) {
      let at = log.payloadOffset(pos);
      for (let i = 0; i < log.entryOps(pos); i++) {
        const len = new DataView(log.data.buffer, log.data.byteOffset).getUint32(at, true) & 0xffffff;
        out.push({ pos, entryAt: log.payloadOffset(pos) - 16, at: at + OP_HEADER_BYTES, len });
        at = (at + OP_HEADER_BYTES + len + 3) & ~3;
      }
    }
    pos += cells;
  }
  return out;
}

/** The data ring as bytes (entry headers and payloads). */
export function ring(h: KvHandle): Uint8Array {
  return logOf(h).data;
}

/** Turn the entry at `pos` into a PAD (kind word low byte 2): every replica skips it. */
export function padEntry(h: KvHandle, pos: number): void {
  const log = logOf(h);
  const w = log.payloadOffset(pos) - 16;
  const words = new Int32Array(log.data.buffer, log.data.byteOffset + w, 4);
  words[1] = (words[1]! & ~0xff) | 2;
}
