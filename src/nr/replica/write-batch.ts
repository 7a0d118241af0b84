/**
 * A local write batch (`replica.writeBatch(ops)`): many write ops of this
 * thread, encoded back to back by one call, appended as one run of one
 * entry and applied in order, with one result array instead of a promise
 * (or a call) per op. The combiner encodes and queues it (enqueueBatch);
 * this file applies it and types its ops.
 */
import type { OpReader } from '../codec.js';
import { FailStopError } from '../errors.js';
import { MAX_OP_BYTES, OP_HEADER_BYTES } from '../log/layout.js';
import type { OpArgs, OpResult, OpTable, Structure } from '../structure.js';
import { applyWrite, type PendingWrite } from './batch.js';

/** One op of a write batch: `[name, ...args]`, as `replica.write(name, ...args)` takes them. */
export type BatchOp<W> = { [K in keyof W & string]: readonly [K, ...OpArgs<W[K]>] }[keyof W & string];
/** What a write batch returns: each op's result, in op order. */
export type BatchResults<W> = OpResult<W[keyof W]>[];

/**
 * Apply a local batch's ops in order from their staged bytes (read through
 * `r`, a reader of the staging buffer), decoded in place as another replica
 * decodes them from the log: no per-op allocation but what the decoded
 * values need, one dispatch per batch, and the caller's op arrays are not
 * read again. An op whose apply throws is recorded and the rest go on, as
 * on every other replica.
 */
export function applyBatch(
  st: Structure<unknown, OpTable<unknown>, OpTable<unknown>>,
  r: OpReader,
  item: PendingWrite,
  state: unknown,
): void {
  const fns = st.writeFns;
  const codecs = st.writeCodecs;
  const n = item.ops;
  const results = new Array<unknown>(n);
  let at = item.start;
  for (let i = 0; i < n; i++) {
    const header = r.view.getUint32(at, true); // little-endian, as encode wrote it
    const id = header >>> 24;
    r.pos = at + OP_HEADER_BYTES;
    r.end = r.pos + (header & MAX_OP_BYTES);
    let args: readonly unknown[];
    try {
      args = codecs[id]!.decode(r);
    } catch (e) {
      // The same codec encoded these bytes a moment ago: every replica that reads them fails alike.
      throw new FailStopError(`op ${i} (id ${id}) of a write batch does not decode from what its codec encoded: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      results[i] = applyWrite(fns[id]!, state, args);
    } catch (e) {
      if (e instanceof FailStopError) throw e;
      (item.applyErrors ??= []).push({ index: i, error: e });
    }
    at = (r.end + 3) & ~3;
  }
  item.result = results;
}
