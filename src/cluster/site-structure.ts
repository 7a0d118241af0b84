/**
 * The structure a site's local NR log replicates: the user's structure
 * wrapped so that its one logged write op is "apply this stream message".
 *
 * - state: the user's state, the stream sequence applied last (`seq`), how
 *   many messages were skipped as not ours (`skipped`), the summed cost of
 *   the messages applied (`bytes`, see messageCost), and a snapshot being
 *   installed part by part (`staging`);
 * - `apply(seq, message)`: a message at or below `seq` is a re-delivery and
 *   changes nothing; otherwise `seq` advances, and the message's ops (checked
 *   by parseEnvelope first) run in order on the user's state. A message that
 *   fails the check is skipped by every replica alike;
 * - `stage(seq, part, bytes)` and `install(seq, parts, total)`: the bridge
 *   appends a validated cluster snapshot (snapshot-format.ts) in parts, then
 *   installs it; the state becomes the snapshot's, at `seq`. Ignored if
 *   `seq` is not past the state's (the state already holds it);
 * - reads: the user's reads on the user's state, `POSITION_READ`, and
 *   `SNAPSHOT_READ` (the bridge's: this state as a cluster snapshot);
 * - results: apply has no caller to return to (the bridge appends), so a
 *   replica that has a batch in flight registers its (site, origin) here
 *   (`listen`) and is handed its own ops' results, the ones its own replica
 *   computed, when it applies that message. This is a side channel out of
 *   apply; the state stays a function of the log alone.
 */
import { deserialize, serialize } from 'node:v8';
import { type ArgsCodec, ConfigError, defineStructure, type OpReader, type OpTable, type OpWriter, type Structure, v8Codec } from '../nr/index.js';
import { CLUSTER_LIMITS } from './defaults.js';
import { forEachOp, isBarrier, parseEnvelope } from './envelope.js';
import { SnapshotInvalidError } from './errors.js';

export interface SiteState<S> {
  user: S;
  seq: number;
  skipped: number;
  /** The summed messageCost of every message applied: a function of the stream prefix alone, which snapshot marks count. */
  bytes: number;
  /** A snapshot being installed (its parts so far), or null. */
  staging: { seq: number; parts: Uint8Array[] } | null;
}

/** What a stored message counts for in the snapshot schedule: its bytes and a fixed allowance for subject, headers and the store's own record. */
export function messageCost(length: number): number {
  return length + CLUSTER_LIMITS.messageOverheadBytes;
}

/** The state as `SNAPSHOT_READ` returns it: its position, its cost so far, and the encoded snapshot (null while one is being installed). */
export interface SiteSnapshotRead {
  readonly seq: number;
  readonly bytes: number;
  readonly data: Uint8Array | null;
}

/** What one op of a batch did on this replica. */
export type OpOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };
export type Delivery = (batch: number, seq: number, outcomes: OpOutcome[]) => void;

/** The read op that returns the stream sequence a replica has applied. */
export const POSITION_READ = '__nrClusterPosition';
/** The read op that returns the state's position and cost, and (argument `true`) the state as a cluster snapshot: SiteSnapshotRead. */
export const SNAPSHOT_READ = '__nrClusterSnapshot';
const RESERVED_READS = [POSITION_READ, SNAPSHOT_READ];

type AnyUser = Structure<unknown, OpTable<unknown>, OpTable<unknown>>;
type WrapReads = { [name: string]: (st: SiteState<unknown>, ...args: unknown[]) => unknown };
type SiteWrites = {
  apply: (st: SiteState<unknown>, seq: number, msg: Uint8Array) => void;
  stage: (st: SiteState<unknown>, seq: number, part: number, bytes: Uint8Array) => void;
  install: (st: SiteState<unknown>, seq: number, parts: number, total: number) => void;
};
export type SiteStructure = Structure<SiteState<unknown>, WrapReads, SiteWrites>;

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
const stageCodec = {
  encode(w: OpWriter, seq: number, part: number, bytes: Uint8Array): void {
    w.f64(seq);
    w.u32(part);
    w.bytesWithLength(bytes);
  },
  decode(r: OpReader): [number, number, Uint8Array] {
    // bytesWithLength copies: staging keeps the part after apply returns.
    return [r.f64(), r.u32(), r.bytesWithLength()];
  },
};
const installCodec = {
  encode(w: OpWriter, seq: number, parts: number, total: number): void {
    w.f64(seq);
    w.u32(parts);
    w.f64(total);
  },
  decode(r: OpReader): [number, number, number] {
    return [r.f64(), r.u32(), r.f64()];
  },
};

const wrapped = new WeakMap<object, SiteStructure>();

/** The wrapped structure of `user` (the same object for the same user structure: its fingerprint is fixed). */
export function siteStructure<S, R extends OpTable<S>, W extends OpTable<S>>(user: Structure<S, R, W>): SiteStructure {
  const known = wrapped.get(user);
  if (known) return known;
  const u = user as unknown as AnyUser;
  for (const name of RESERVED_READS) if (u.readNames.includes(name)) throw new ConfigError(`a clustered structure cannot define a read named '${name}'`);
  const reads: WrapReads = {};
  for (const name of u.readNames) {
    const fn = u.reads[name] as (state: unknown, ...args: unknown[]) => unknown;
    reads[name] = (st, ...args) => fn(st.user, ...args);
  }
  reads[POSITION_READ] = (st) => st.seq;
  reads[SNAPSHOT_READ] = (st, withData): SiteSnapshotRead => ({ seq: st.seq, bytes: st.bytes, data: withData === true && st.staging === null ? encodeSiteState(u, st) : null });
  const ops = userWriteOps(u);
  const s = defineStructure({
    name: `nr-cluster:${u.name}`,
    version: u.version,
    create: (): SiteState<unknown> => ({ user: u.create(), seq: 0, skipped: 0, bytes: 0, staging: null }),
    reads,
    writes: {
      apply: (st: SiteState<unknown>, seq: number, msg: Uint8Array): void => applyMessage(u, ops, st, seq, msg),
      stage: (st: SiteState<unknown>, seq: number, part: number, bytes: Uint8Array): void => stagePart(st, seq, part, bytes),
      install: (st: SiteState<unknown>, seq: number, parts: number, total: number): void => installStaged(u, st, seq, parts, total),
    },
    codecs: { apply: applyCodec, stage: stageCodec, install: installCodec },
    // Not the sequence: read barriers move it without changing the state.
    digest: (st) => `${st.skipped}:${u.digest ? u.digest(st.user) : ''}`,
    // A transfer between this site's replicas carries the staging too; a cluster snapshot (SNAPSHOT_READ) has none.
    snapshot: (st) => encodeSiteState(u, st),
    restore: (bytes) => decodeSiteState(u, bytes, true),
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

/** The state's bytes: v8 serialization of its fields, the user's state by the user's snapshot hook (or v8). */
export function encodeSiteState(u: AnyUser, st: SiteState<unknown>): Uint8Array {
  const user = u.snapshot ? u.snapshot(st.user) : serialize(st.user);
  return serialize({ seq: st.seq, skipped: st.skipped, bytes: st.bytes, user, staging: st.staging });
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Decode state bytes, checking every field (they may come from the network):
 * SnapshotInvalidError if they do not decode, a field is out of range, a
 * staging is present where none may be, or the user's restore throws.
 */
export function decodeSiteState(u: AnyUser, bytes: Uint8Array, stagingAllowed: boolean): SiteState<unknown> {
  let o: { seq?: unknown; skipped?: unknown; bytes?: unknown; user?: unknown; staging?: unknown };
  try {
    o = deserialize(bytes) as typeof o;
  } catch (e) {
    throw new SnapshotInvalidError(`the state does not decode (${(e as Error).message})`);
  }
  if (o === null || typeof o !== 'object') throw new SnapshotInvalidError('the state is not an object');
  if (!isCount(o.seq) || !isCount(o.skipped) || !isCount(o.bytes) || o.skipped > o.seq) throw new SnapshotInvalidError('the state\'s sequence, skipped count or cost is out of range');
  if (!(o.user instanceof Uint8Array)) throw new SnapshotInvalidError('the state holds no user state bytes');
  let staging: SiteState<unknown>['staging'] = null;
  if (o.staging !== null) {
    const g = o.staging as { seq?: unknown; parts?: unknown } | undefined;
    if (!stagingAllowed || g === undefined || typeof g !== 'object' || !isCount(g.seq) || !Array.isArray(g.parts) || !g.parts.every((p) => p instanceof Uint8Array)) {
      throw new SnapshotInvalidError('the state holds a snapshot being installed');
    }
    staging = { seq: g.seq, parts: g.parts as Uint8Array[] };
  }
  let user: unknown;
  try {
    user = u.restore ? u.restore(o.user) : deserialize(o.user);
  } catch (e) {
    throw new SnapshotInvalidError(`the structure's restore refused the state (${(e as Error).message})`);
  }
  return { user, seq: o.seq, skipped: o.skipped, bytes: o.bytes, staging };
}

function stagePart(st: SiteState<unknown>, seq: number, part: number, bytes: Uint8Array): void {
  if (!(seq > st.seq)) return; // the state holds that position already
  if (part === 0) st.staging = { seq, parts: [bytes] };
  else if (st.staging !== null && st.staging.seq === seq && st.staging.parts.length === part) st.staging.parts.push(bytes);
  else st.staging = null; // out of order: the install that follows will not match and is ignored
}

/**
 * Install the staged snapshot. The bridge validated it before staging it
 * (snapshot-format.ts); this checks only that the parts are the ones the
 * install names, and anything else leaves the state as it was (alike on
 * every replica, since it depends on the log alone).
 */
function installStaged(u: AnyUser, st: SiteState<unknown>, seq: number, parts: number, total: number): void {
  const g = st.staging;
  st.staging = null;
  if (!(seq > st.seq) || g === null || g.seq !== seq || g.parts.length !== parts) return;
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const p of g.parts) {
    if (at + p.length > total) return;
    bytes.set(p, at);
    at += p.length;
  }
  if (at !== total) return;
  const next = decodeSiteState(u, bytes, false);
  if (next.seq !== seq) return;
  st.user = next.user;
  st.seq = next.seq;
  st.skipped = next.skipped;
  st.bytes = next.bytes;
}

function applyMessage(u: AnyUser, ops: readonly UserWriteOp[], st: SiteState<unknown>, seq: number, msg: Uint8Array): void {
  if (!(seq > st.seq)) return; // a re-delivery: already applied
  st.seq = seq;
  st.bytes += messageCost(msg.length);
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
