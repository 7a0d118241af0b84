/**
 * The structure a site's local NR log replicates: the user's structure
 * wrapped so that its one logged write op is "apply this stream message".
 *
 * - state: the user's state, the stream sequence applied last (`seq`), and
 *   how many messages were skipped as not ours (`skipped`);
 * - `apply(seq, message)`: a message at or below `seq` is a re-delivery and
 *   changes nothing; otherwise `seq` advances, and the message's ops (checked
 *   by parseEnvelope first) run in order on the user's state. A message that
 *   fails the check is skipped by every replica alike;
 * - reads: the user's reads on the user's state, and `POSITION_READ`;
 * - results: apply has no caller to return to (the bridge appends), so a
 *   replica that has a batch in flight registers its (site, origin) here
 *   (`listen`) and is handed its own ops' results, the ones its own replica
 *   computed, when it applies that message. This is a side channel out of
 *   apply; the state stays a function of the log alone.
 */
import { deserialize, serialize } from 'node:v8';
import { type ArgsCodec, ConfigError, defineStructure, type OpReader, type OpTable, type OpWriter, type Structure, v8Codec } from '../nr/index.js';
import { forEachOp, isBarrier, parseEnvelope } from './envelope.js';

export interface SiteState<S> {
  user: S;
  seq: number;
  skipped: number;
}

/** What one op of a batch did on this replica. */
export type OpOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };
export type Delivery = (batch: number, seq: number, outcomes: OpOutcome[]) => void;

/** The read op that returns the stream sequence a replica has applied. */
export const POSITION_READ = '__nrClusterPosition';

type AnyUser = Structure<unknown, OpTable<unknown>, OpTable<unknown>>;
type WrapReads = { [name: string]: (st: SiteState<unknown>, ...args: unknown[]) => unknown };
export type SiteStructure = Structure<SiteState<unknown>, WrapReads, { apply: (st: SiteState<unknown>, seq: number, msg: Uint8Array) => void }>;

/** Replicas of this thread with a batch in flight, by `site:origin`. */
const listeners = new Map<string, Delivery>();
export function listen(site: number, origin: number, deliver: Delivery): void {
  listeners.set(`${site >>> 0}:${origin >>> 0}`, deliver);
}
export function unlisten(site: number, origin: number): void {
  listeners.delete(`${site >>> 0}:${origin >>> 0}`);
}

const applyArgs: [number, Uint8Array] = [0, new Uint8Array(0)];
const applyCodec = {
  encode(w: OpWriter, seq: number, msg: Uint8Array): void {
    w.f64(seq);
    w.bytesWithLength(msg);
  },
  decode(r: OpReader): [number, Uint8Array] {
    applyArgs[0] = r.f64();
    const n = r.u32();
    // A view of the log's cell: valid until apply returns, which is all apply needs.
    applyArgs[1] = r.bytes.subarray(r.pos, r.pos + n);
    r.pos += n;
    return applyArgs;
  },
};

const wrapped = new WeakMap<object, SiteStructure>();

/** The wrapped structure of `user` (the same object for the same user structure: its fingerprint is fixed). */
export function siteStructure<S, R extends OpTable<S>, W extends OpTable<S>>(user: Structure<S, R, W>): SiteStructure {
  const known = wrapped.get(user);
  if (known) return known;
  const u = user as unknown as AnyUser;
  if (u.readNames.includes(POSITION_READ)) throw new ConfigError(`a clustered structure cannot define a read named '${POSITION_READ}'`);
  const reads: WrapReads = {};
  for (const name of u.readNames) {
    const fn = u.reads[name] as (state: unknown, ...args: unknown[]) => unknown;
    reads[name] = (st, ...args) => fn(st.user, ...args);
  }
  reads[POSITION_READ] = (st) => st.seq;
  const ops = userWriteOps(u);
  const s = defineStructure({
    name: `nr-cluster:${u.name}`,
    version: u.version,
    create: (): SiteState<unknown> => ({ user: u.create(), seq: 0, skipped: 0 }),
    reads,
    writes: {
      apply: (st: SiteState<unknown>, seq: number, msg: Uint8Array): void => applyMessage(u, ops, st, seq, msg),
    },
    codecs: { apply: applyCodec },
    // Not the sequence: read barriers move it without changing the state.
    digest: (st) => `${st.skipped}:${u.digest ? u.digest(st.user) : ''}`,
    snapshot: (st) => serialize({ seq: st.seq, skipped: st.skipped, user: u.snapshot ? u.snapshot(st.user) : serialize(st.user) }),
    restore: (bytes) => {
      const o = deserialize(bytes) as { seq: number; skipped: number; user: Uint8Array };
      return { seq: o.seq, skipped: o.skipped, user: u.restore ? u.restore(o.user) : deserialize(o.user) };
    },
  }) as unknown as SiteStructure;
  wrapped.set(user, s);
  return s;
}

/** A user write op as apply runs it: its function and its codec (the structure's, or v8Codec as defineStructure defaults). */
export interface UserWriteOp {
  readonly fn: (state: unknown, ...args: unknown[]) => unknown;
  readonly codec: ArgsCodec<readonly unknown[]>;
}

/** The user's write ops by op id (definition order, as defineStructure numbers them). */
export function userWriteOps(u: AnyUser): UserWriteOp[] {
  const codecs = (u.codecs ?? {}) as { [name: string]: ArgsCodec<readonly unknown[]> | undefined };
  return u.writeNames.map((name) => ({
    fn: u.writes[name] as (state: unknown, ...args: unknown[]) => unknown,
    codec: codecs[name] ?? v8Codec<readonly unknown[]>(),
  }));
}

function applyMessage(u: AnyUser, ops: readonly UserWriteOp[], st: SiteState<unknown>, seq: number, msg: Uint8Array): void {
  if (!(seq > st.seq)) return; // a re-delivery: already applied
  st.seq = seq;
  if (isBarrier(msg)) return; // a read index: no op
  const head = parseEnvelope(msg, u.fingerprint, ops.length);
  if (head === null) {
    st.skipped++;
    return;
  }
  const deliver = listeners.size === 0 ? undefined : listeners.get(`${head.site}:${head.origin}`);
  const outcomes: OpOutcome[] | null = deliver ? [] : null;
  forEachOp(msg, head.count, (opId, r) => {
    try {
      const op = ops[opId]!;
      const value = op.fn(st.user, ...op.codec.decode(r));
      outcomes?.push({ ok: true, value });
    } catch (error) {
      // As in NR: an op that throws throws on every replica; the state is what the op left.
      outcomes?.push({ ok: false, error });
    }
  });
  if (deliver) deliver(head.batch, seq, outcomes!);
}
