/**
 * State transfer for the KV structure: the enclave state as a snapshot,
 * sealed under the snapshot key and bound to the chain, and its checked
 * restore (a rollback or a fork leaves a state that fail-stops).
 */
import { serialize, deserialize } from 'node:v8';
import { Chain } from './chain.js';
import { TAG_BYTES } from './crypto.js';
import { Displaced } from './displaced.js';
import { emptyState, type KvState, type StoreContext } from './enclave.js';
import { SortedKeys } from './sorted-keys.js';

const SNAPSHOT_AD = Buffer.from('nr-kv snapshot v3');

interface SnapshotBody {
  keys: string[];
  metas: [number, number, number, number, string][];
  writers: [number, number][];
  failure: string | null;
  liveBytes: number;
  count: number;
  head: string;
  /** The heads the provider still remembered before `count` (Chain.recent): the receiver checks the snapshot extends its own chain. */
  heads: { counts: number[]; heads: string[] };
  /** The log position the state reflects: a snapshot announced at another position is refused. */
  pos: number;
  /** Displaced blocks not yet claimed (displaced.ts): [chain count, offset, stored bytes] flattened. */
  displaced: number[];
}

/**
 * The state as a snapshot for a replica that recovers by state transfer:
 * sealed under the snapshot key (nothing readable in the shared transfer
 * buffer), bound to the store (its key) and to the chain (count, head).
 */
export function snapshot(state: KvState, pos = -1): Uint8Array {
  const keys = state.order.all();
  const body: SnapshotBody = {
    keys,
    metas: keys.map((k) => {
      const m = state.map.get(k)!;
      return [m.version, m.sealId, m.loc, m.len, m.tag];
    }),
    writers: [...state.writers.entries()],
    failure: state.failure,
    liveBytes: state.liveBytes,
    count: state.chain.count,
    head: state.chain.head,
    heads: state.chain.recent(),
    pos,
    displaced: state.displaced.entries(),
  };
  const bytes = serialize(body);
  return state.ctx.cipher.secure ? state.ctx.cipher.box('snapshot', bytes, SNAPSHOT_AD) : bytes;
}

/**
 * Restore from a snapshot that travelled through shared memory. Anything
 * wrong (authentication, shape, a chain position behind the one this
 * replica had already reached: a rollback) leaves a state whose every
 * later op fail-stops.
 */
export function restore(ctx: StoreContext, bytes: Uint8Array, pos: number, mark = NaN): KvState {
  const state = emptyState(ctx);
  try {
    const copy = Buffer.from(bytes); // private copy
    const plain = ctx.cipher.secure ? ctx.cipher.unbox('snapshot', copy, SNAPSHOT_AD) : copy;
    if (plain === null) throw new Error('it failed authentication');
    const body = deserialize(plain) as SnapshotBody;
    const tagLen = ctx.cipher.secure ? TAG_BYTES : 0;
    if (!Number.isSafeInteger(body.count) || body.count < 0 || typeof body.head !== 'string') throw new Error('bad chain position');
    if (body.pos !== pos) throw new Error(`it was taken at log position ${body.pos} but handed over as position ${pos}`);
    if (body.count < ctx.applied.count || (body.count === ctx.applied.count && body.head !== ctx.applied.head)) {
      throw new Error(`it is at chain record ${body.count}, behind (or beside) record ${ctx.applied.count} this replica had already applied: a rollback`);
    }
    const chain = Chain.at(body.count, body.head, body.heads?.counts, body.heads?.heads);
    // Ahead is not enough: it must be ahead on this replica's own chain (a forked provider's state is not).
    const there = chain.headAt(ctx.applied.count);
    if (ctx.applied.count > 0 && there !== undefined && there !== ctx.applied.head) {
      throw new Error(`its chain does not extend the one this replica had applied (their heads at record ${ctx.applied.count} differ): a forked state`);
    }
    body.keys.forEach((k, i) => {
      const [version, sealId, loc, len, tag] = body.metas[i]!;
      if (typeof k !== 'string' || typeof tag !== 'string' || tag.length !== tagLen) throw new Error('bad entry');
      state.map.set(k, { version, sealId, loc, len, tag });
    });
    for (const [w, s] of body.writers) state.writers.set(w, s);
    const displaced = Displaced.from(body.displaced, body.count, mark);
    if (displaced === null) throw new Error('bad displaced blocks');
    ctx.displaced = displaced;
    ctx.applied = { count: body.count, head: body.head };
    // Heads learned for counts this replica now skips over: compare them with the snapshot's (checkLive).
    const f = ctx.fresh;
    if (f !== null) for (const c of f.expected.keys()) if (c <= body.count) f.unchecked.push(c);
    return { ...state, order: SortedKeys.from(body.keys), chain, failure: body.failure, liveBytes: body.liveBytes, displaced };
  } catch (e) {
    state.failure = `state-transfer snapshot failed verification: ${e instanceof Error ? e.message : String(e)}`;
    return state;
  }
}
