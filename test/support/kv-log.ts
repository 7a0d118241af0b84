/** Test-side view of a KV store's NR log entries, to tamper with whole records the way an attacker would. */
import type { KvHandle } from '../../src/kv/index.js';
import { ENTRY_BATCH, ENTRY_HEADER_BYTES, ENTRY_PAD, OP_HEADER_BYTES, S_STATE, SLOT_WORDS, SLOTS_AT, STATE_MASK } from '../../src/nr/log/layout.js';
import { SharedLog } from '../../src/nr/log/shared-log.js';

export { CTAIL, HEAD, TAIL } from '../../src/nr/log/layout.js';

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

/** The log's raw words (HEAD, TAIL, CTAIL, slots). */
export function logWords(h: KvHandle): Int32Array {
  return new Int32Array(h.nr.memory.buffer);
}

/** Every record (write op) in the log from position 0 to TAIL, in log order (no wrap: tests use fresh, small logs). */
export function records(h: KvHandle): LoggedRecord[] {
  const log = logOf(h);
  const tail = log.tail();
  const view = new DataView(log.data.buffer, log.data.byteOffset, log.data.byteLength);
  const out: LoggedRecord[] = [];
  for (let pos = 0; pos < tail; ) {
    const hdr = log.readHeader(pos, tail);
    if (hdr === null) throw new Error(`no valid entry header at ${pos}`);
    if (hdr.kind === ENTRY_BATCH) {
      let at = log.payloadOffset(pos);
      for (let i = 0; i < hdr.ops; i++) {
        const len = view.getUint32(at, true) & 0xffffff;
        out.push({ pos, entryAt: log.payloadOffset(pos) - ENTRY_HEADER_BYTES, at: at + OP_HEADER_BYTES, len });
        at = (at + OP_HEADER_BYTES + len + 3) & ~3;
      }
    }
    pos += hdr.cells;
  }
  return out;
}

/** The data ring as bytes (entry headers and payloads). */
export function ring(h: KvHandle): Uint8Array {
  return logOf(h).data;
}

/** The four header words (cells, kind | replica << 8, ops, payload bytes) of the entry holding `rec`. */
export function headerOf(h: KvHandle, rec: LoggedRecord): Int32Array {
  const data = ring(h);
  return new Int32Array(data.buffer, data.byteOffset + rec.entryAt, 4);
}

/** Turn the entry at `pos` into a PAD: every replica skips it (the core checks where a PAD may stand). */
export function padEntry(h: KvHandle, pos: number): void {
  const log = logOf(h);
  const words = new Int32Array(log.data.buffer, log.data.byteOffset + log.payloadOffset(pos) - ENTRY_HEADER_BYTES, 4);
  words[1] = (words[1]! & ~0xff) | ENTRY_PAD;
}

/** Set replica slot `r`'s state (keeping its incarnation bits), e.g. 4 = Fenced. */
export function setSlotState(h: KvHandle, r: number, state: number): void {
  const w = logWords(h);
  const at = SLOTS_AT + r * SLOT_WORDS + S_STATE;
  Atomics.store(w, at, (Atomics.load(w, at) & ~STATE_MASK) | state);
}
