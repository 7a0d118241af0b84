/**
 * Applying another replica's entry: decode each op from the log in place
 * and run it. Each op header is checked against the entry's payload before
 * it is trusted; a malformed one, an op whose bytes do not decode, or a
 * FailStopError from the structure's own apply, is corruption (FailStopError), unless this replica was fenced
 * meanwhile and read a later lap (FencedRunSignal: the replay's own check
 * reports the fence).
 */
import type { OpReader } from '../codec.js';
import { FailStopError } from '../errors.js';
import { OP_HEADER_BYTES } from '../log/layout.js';
import { before } from '../log/positions.js';
import type { EntryHeader, SharedLog } from '../log/shared-log.js';
import type { OpTable, Structure } from '../structure.js';
import { applyWrite } from './batch.js';

/** Thrown inside a replay when an apply saw a malformed op while fenced. */
export class FencedRunSignal extends Error {}

/** Apply the entry at `pos`; returns the ops applied. */
export function applyRemote(
  log: SharedLog,
  structure: Structure<unknown, OpTable<unknown>, OpTable<unknown>>,
  state: unknown,
  r: OpReader,
  pos: number,
  header: EntryHeader,
  slot: number,
  slotWord: number,
  runFrom: number,
): number {
  const fns = structure.writeFns;
  const codecs = structure.writeCodecs;
  const bytes = log.data;
  let at = log.payloadOffset(pos);
  const end = at + header.payloadBytes;
  const corrupt = (why: string): Error =>
    log.slotWord(slot) !== slotWord || before(runFrom, log.head()) ? new FencedRunSignal() : new FailStopError(`the shared log is corrupt: the entry at position ${pos} cannot be applied (${why})`);
  for (let i = 0; i < header.ops; i++) {
    if (at + OP_HEADER_BYTES > end) throw corrupt('its ops overrun its payload');
    const opHeader = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
    const id = opHeader >>> 24;
    const len = opHeader & 0xffffff;
    if (id >= fns.length || at + OP_HEADER_BYTES + len > end) throw corrupt(`op ${i} has id ${id} and ${len} bytes`);
    r.pos = at + OP_HEADER_BYTES;
    r.end = r.pos + len;
    let decoded = false;
    try {
      const args = codecs[id]!.decode(r);
      decoded = true;
      applyWrite(fns[id]!, state, args);
    } catch (e) {
      // Its issuer encoded these bytes and applied them (or decoded them, for
      // a client's write): a decode that fails here is bytes changed since.
      if (!decoded) throw corrupt(`op ${i} (id ${id}) does not decode: ${e instanceof Error ? e.message : String(e)}`);
      // A structure that checks its own op bytes (the KV's MACs) fails stop on
      // bytes it cannot trust; read while fenced they may be a later lap's,
      // which is a fence for the replay to handle, not corruption.
      if (e instanceof FailStopError) throw log.slotWord(slot) !== slotWord || before(runFrom, log.head()) ? new FencedRunSignal() : e;
      // The issuing replica reports the error to its caller; the apply is
      // deterministic, so every replica threw at the same point.
    }
    at = (r.end + 3) & ~3;
  }
  return header.ops;
}
