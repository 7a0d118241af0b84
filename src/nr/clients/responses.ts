/**
 * A client's responses: one answered slot read back and checked before it
 * is trusted (shared memory is data to validate: the sequence number must
 * be the request's, the length in range, the status one of the three the
 * node writes, the payload must decode), then the op's promise or callback
 * settled with its value or its error; a callback op's `done` called once.
 */
import type { OpReader, ValueCodec } from '../codec.js';
import { DecodeError, EncodeError, FailStopError } from '../errors.js';
import type { OpTable, Structure } from '../structure.js';
import { RequestKind, ResponseStatus, SLOT_HEADER_BYTES, type SharedContext } from './context.js';
import type { InFlight } from './requests.js';
import { decodeThrown } from './thrown.js';
import { deserialize } from 'node:v8';

/** What a response needs of its structure: result codecs by op id. */
export type ResponseCodecs = Pick<Structure<unknown, OpTable<unknown>, OpTable<unknown>>, 'readResultCodecs' | 'writeResultCodecs'>;

/**
 * Settle `op` (whose `reject` is set) from its answered slot at word `at`
 * of the client in `slot` of `node`, reading through `r`.
 */
export function settleResponse(ctx: SharedContext, structure: ResponseCodecs, r: OpReader, op: InFlight, at: number, node: number, slot: number): void {
  const status = ctx.words[at]!;
  const len = ctx.words[at + 2]!;
  r.pos = at * 4 + SLOT_HEADER_BYTES;
  r.end = r.pos + len;
  if (ctx.words[at + 3] !== op.seq || !(len >= 0 && len <= ctx.maxPayloadBytes)) {
    op.reject!(new FailStopError(`${where(ctx, node, slot, op.seq)} does not answer request ${op.seq} (or its length ${len} is out of range)`));
    return;
  }
  if (status !== ResponseStatus.Ok && status !== ResponseStatus.Threw && status !== ResponseStatus.Rejected) {
    op.reject!(new FailStopError(`${where(ctx, node, slot, op.seq)} has no valid status (${status}): shared memory was tampered with`));
    return;
  }
  try {
    if (status === ResponseStatus.Ok) {
      const codec: ValueCodec<unknown> = op.kind === RequestKind.Read ? structure.readResultCodecs[op.id]! : structure.writeResultCodecs[op.id]!;
      op.resolve!(codec.decode(r));
      return;
    }
  } catch (e) {
    // The node encoded the answer with this codec: an answer whose lengths run past its end was not written by it.
    op.reject!(e instanceof DecodeError ? new FailStopError(`${where(ctx, node, slot, op.seq)} does not decode: shared memory was tampered with (${e.message})`, { cause: e }) : e);
    return;
  }
  // The node's error formats: bytes that do not decode were not written by the node.
  let decoded: unknown;
  try {
    decoded = deserialize(ctx.bytes.slice(r.pos, r.end));
  } catch {
    op.reject!(new FailStopError(`${where(ctx, node, slot, op.seq)} (an error report) does not decode: shared memory was tampered with`));
    return;
  }
  op.reject!(status === ResponseStatus.Threw ? decodeThrown(decoded) : new EncodeError(op.name, new Error(String(decoded))));
}

/** Names the slot of request `seq`, for errors about its response. */
function where(ctx: SharedContext, node: number, slot: number, seq: number): string {
  return `client slot ${slot} of node ${node}: the response in slot ${seq & (ctx.slots - 1)}`;
}

/**
 * `done` wrapped to run once: an exception it throws is the caller's bug,
 * reported as node reports a throwing callback (an uncaught exception), once
 * the client is consistent: thrown inside the pump it would cut the pump
 * short, or pass for the op's failure.
 */
export function callbackOnce(done: (error: unknown, value?: unknown) => void): (error: unknown, value?: unknown) => void {
  let settled = false;
  return (e: unknown, v?: unknown): void => {
    if (settled) return;
    settled = true;
    try {
      done(e, v);
    } catch (thrown) {
      queueMicrotask(() => {
        throw thrown;
      });
    }
  };
}
