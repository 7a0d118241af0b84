/**
 * A client's requests: the op in flight as the client tracks it, the op's
 * id by name, its arguments encoded (bounded by what a slot holds: a
 * request past it fails as it grows, before a buffer that large is
 * allocated), the copy of an encoded request into its slot (see
 * context.ts for the slot layout), and the ops past their deadline.
 */
import { checkArity, OpWriter, WriterLimitError, type ArgsCodec } from '../codec.js';
import { BackpressureError, EncodeError, OpTooLargeError, TimeoutError, UnknownOpError } from '../errors.js';
import type { OpTable, Structure } from '../structure.js';
import { RequestKind, SLOT_HEADER_BYTES, type SharedContext } from './context.js';

/** What a request needs of its structure: op ids by name, argument codecs by id. */
export type RequestCodecs = Pick<Structure<unknown, OpTable<unknown>, OpTable<unknown>>, 'readIds' | 'writeIds' | 'readArgCodecs' | 'writeCodecs'>;

/** An op the client has sent (or is about to send) and not yet been answered for. */
export interface InFlight {
  /** Its request number, once sent (-1 before). */
  seq: number;
  kind: RequestKind;
  id: number;
  name: string;
  resolve: ((v: unknown) => void) | null;
  reject: ((e: unknown) => void) | null;
  /** Encoded arguments, kept only while waiting for a free slot. */
  bytes: Uint8Array | null;
  /** performance.now() by which an async op must be answered. */
  deadline: number;
}

/** The id of read or write `name`; UnknownOpError if the structure has none. */
export function opIdOf(structure: RequestCodecs, kind: RequestKind, name: string): number {
  const id = kind === RequestKind.Read ? structure.readIds[name] : structure.writeIds[name];
  if (id === undefined) throw new UnknownOpError(kind === RequestKind.Read ? 'read' : 'write', name);
  return id;
}

/** Encode an op's arguments into `w` (from 0); returns their length. Nothing is sent. */
export function encodeRequest(structure: RequestCodecs, w: OpWriter, maxPayloadBytes: number, kind: RequestKind, id: number, name: string, args: readonly unknown[]): number {
  const codec: ArgsCodec<readonly unknown[]> = kind === RequestKind.Read ? structure.readArgCodecs[id]! : structure.writeCodecs[id]!;
  w.pos = 0;
  w.limit = maxPayloadBytes;
  try {
    checkArity(codec, args.length);
    codec.encode(w, ...args);
  } catch (e) {
    if (e instanceof WriterLimitError) throw new OpTooLargeError(name, e.need, maxPayloadBytes, 'client slot', 'clientSlotBytes', true);
    throw new EncodeError(name, e, kind === RequestKind.Read ? 'read' : 'write');
  }
  if (w.pos > maxPayloadBytes) throw new OpTooLargeError(name, w.pos, maxPayloadBytes, 'client slot', 'clientSlotBytes');
  return w.pos;
}

/** Copy request `op` (its seq already taken) with its encoded arguments into its slot of the client at `base`; not yet published. */
export function writeRequest(ctx: SharedContext, base: number, op: InFlight, bytes: Uint8Array): void {
  const at = ctx.slotAt(base, op.seq);
  ctx.words[at] = op.kind;
  ctx.words[at + 1] = op.id;
  ctx.words[at + 2] = bytes.length;
  ctx.bytes.set(bytes, at * 4 + SLOT_HEADER_BYTES);
}

/**
 * Async ops of `queue` past their deadline (`now`): a sent one (the first
 * `sent`) is rejected with TimeoutError (its response, if one comes, is
 * discarded); one still waiting for a free slot is dropped from the queue
 * with BackpressureError (it was never sent).
 */
export function expireRequests(queue: InFlight[], sent: number, now: number, timeoutMs: number, slots: number): void {
  for (let i = 0; i < queue.length; i++) {
    const op = queue[i]!;
    if (op.reject === null || op.deadline > now) continue;
    const reject = op.reject;
    op.resolve = op.reject = null;
    if (i < sent) {
      reject(new TimeoutError(timeoutMs));
    } else {
      queue.splice(i--, 1);
      reject(new BackpressureError(slots, timeoutMs));
    }
  }
}
