/**
 * The replicated structure: each replica's private "enclave" index
 * (enclave.ts) and the one write op that changes it, a log record
 * (record.ts).
 *
 * A replica applying a record checks the chain (the writer's known point)
 * and that the writer's sequence grew. Any failure, and any exception at
 * all while applying, throws the core's FailStopError: the replica halts
 * for good. Applies never read the arena for the state, so they are
 * deterministic whatever happens to it (only an exchange's issuer opens the
 * value it displaces, into its own result). Every block a record displaces
 * joins the state's queue of displaced blocks (displaced.ts), and a
 * record's claim takes the oldest of them for its issuer to free.
 *
 * Versions are assigned at apply time from the chain: record count × 4096 +
 * item index. They are per-key monotonic (and unique store-wide) in enclave
 * state; nothing in shared memory can make one repeat.
 */
import { defineStructure, FailStopError, OpWriter, type OpReader, type ValueCodec } from '../nr/index.js';
import { blockBytesFor } from './arena.js';
import { TAG_BYTES } from './crypto.js';
import { answerGets } from './answers.js';
import { clientWriteCodec, notForClients, sealedAnswer, sealedRequestCodec, sealedResultCodec, sealedScan } from './client-answers.js';
import { checkLive, emptyState, failStop, openValue, type ApplyResult, type KvEntry, type KvState, type Meta, type StoreContext } from './enclave.js';
import { encodeRecord, GET, ITEMS_PER_RECORD, PUT, RecordParser, type LogRecord } from './record.js';
import { restore, snapshot } from './snapshot.js';

export const STRUCTURE_NAME = 'nr.kv';

/** Any exception while applying is a fail-stop: the record could not be applied the same way everywhere. */
function apply(state: KvState, rec: LogRecord): ApplyResult {
  checkLive(state);
  try {
    return applyChecked(state, rec);
  } catch (e) {
    if (e instanceof FailStopError) throw e;
    failStop(state, `applying a log record threw ${String(e)}`);
  }
}

function applyChecked(state: KvState, rec: LogRecord): ApplyResult {
  if (rec.bad !== null) failStop(state, rec.bad);
  const cipher = state.ctx.cipher;
  const chain = state.chain;
  if (cipher.secure) {
    if (!(rec.knownCount <= chain.count)) {
      failStop(state, `log record of writer ${rec.writer} was written after ${rec.knownCount} records, but only ${chain.count} precede it here: a record was dropped, reordered or hidden`);
    }
    const h = chain.headAt(rec.knownCount);
    if (h !== undefined && h !== rec.knownHead) failStop(state, `log record of writer ${rec.writer} does not extend this replica's chain at record ${rec.knownCount}: the log was reordered, replayed or spliced`);
    if (rec.auth.length !== TAG_BYTES) failStop(state, 'log record without an authenticator');
  }
  const last = state.writers.get(rec.writer) ?? 0;
  if (!(rec.seq > last)) failStop(state, `log record of writer ${rec.writer} replayed or reordered (sequence ${rec.seq} after ${last})`);
  state.writers.set(rec.writer, rec.seq);
  chain.advance(cipher, rec.auth);
  const ctx = state.ctx;
  ctx.applied = { count: chain.count, head: chain.head };
  const want = ctx.fresh?.expected.get(chain.count);
  if (want !== undefined) {
    ctx.fresh!.expected.delete(chain.count);
    if (want !== chain.head) failStop(state, `chain head at record ${chain.count} differs from the one a peer announced: this replica's log was tampered with`);
  }
  const res: ApplyResult = { ok: true, current: 0, displaced: 0, claimed: [], prev: [], versions: [], reads: [], writer: rec.writer, seq: rec.seq, count: chain.count, head: chain.head };
  // The claim first: it does not depend on the condition, and the blocks it takes were displaced by earlier records.
  if (rec.claim !== 0) {
    if (rec.claim > rec.knownCount) failStop(state, `log record of writer ${rec.writer} claims blocks displaced up to record ${rec.claim}, after the ${rec.knownCount} it had applied`);
    state.displaced.claim(rec.claim, res.claimed);
  }
  if (rec.cond === 1) {
    const cur = state.map.get(rec.condKey)?.version ?? 0;
    if (cur !== rec.condVersion) {
      res.ok = false;
      res.current = cur;
      return res;
    }
  }
  const base = chain.count * ITEMS_PER_RECORD;
  for (let i = 0; i < rec.items.length; i++) {
    const it = rec.items[i]!;
    const prev = state.map.get(it.key);
    res.prev.push(prev ?? null);
    if (it.op === GET) {
      res.versions.push(0);
      res.reads.push(prev ?? null);
      continue;
    }
    if (prev !== undefined) {
      // An exchange's issuer opens the value it displaces now: once applied everywhere, any writer may claim the block.
      if (i === 0 && rec.openPrev === true && !rec.fromLog) openPrev(state, it.key, prev, res);
      const stored = cipher.storedBytes(prev.len);
      state.displaced.push(chain.count, prev.loc, stored, ctx.logMark?.() ?? NaN);
      res.displaced++;
      state.liveBytes -= blockBytesFor(stored);
    }
    if (it.op === PUT) {
      const version = base + i;
      res.versions.push(version);
      state.map.set(it.key, { version, sealId: it.sealId, loc: it.loc, len: it.len, tag: it.tag });
      if (prev === undefined) state.order.insert(it.key);
      state.liveBytes += blockBytesFor(cipher.storedBytes(it.len));
    } else {
      res.versions.push(0);
      if (prev !== undefined) {
        state.map.delete(it.key);
        state.order.remove(it.key);
      }
    }
  }
  return res;
}

/** The issuer's own result only (the state never depends on it): a failure to open is the exchange's error, not the replica's. */
function openPrev(state: KvState, key: string, prev: Meta, res: ApplyResult): void {
  try {
    res.prevValue = openValue(state, key, prev);
  } catch (e) {
    res.prevError = e;
  }
}

/** Build this thread's structure object: the same shape (fingerprint) everywhere, closing over private keys. */
export function kvStructure(ctx: StoreContext) {
  const parser = new RecordParser(ctx.cipher);
  const scratch = new OpWriter(1024);
  return defineStructure({
    name: STRUCTURE_NAME,
    version: 1,
    create: (): KvState => emptyState(ctx),
    reads: {
      get: (s: KvState, key: string): Buffer | undefined => {
        checkLive(s);
        const m = s.map.get(key);
        return m === undefined ? undefined : openValue(s, key, m);
      },
      /** Current version (0 if absent) and value, for compare-and-set by value. */
      entry: (s: KvState, key: string): { version: number; value: Buffer | undefined } => {
        checkLive(s);
        const m = s.map.get(key);
        return m === undefined ? { version: 0, value: undefined } : { version: m.version, value: openValue(s, key, m) };
      },
      version: (s: KvState, key: string): number => {
        checkLive(s);
        return s.map.get(key)?.version ?? 0;
      },
      has: (s: KvState, key: string): boolean => {
        checkLive(s);
        return s.map.has(key);
      },
      size: (s: KvState): number => {
        checkLive(s);
        return s.map.size;
      },
      scan: (s: KvState, start: string | undefined, end: string | undefined, limit: number): KvEntry[] => {
        checkLive(s);
        const out: KvEntry[] = [];
        if (limit <= 0) return out;
        s.order.range(start, end, (k) => {
          const m = s.map.get(k)!;
          out.push({ key: Buffer.from(k, 'latin1'), value: openValue(s, k, m), version: m.version });
          return out.length < limit;
        });
        return out;
      },
      info: (s: KvState): { keys: number; liveBytes: number; failure: string | null; count: number } => ({
        keys: s.map.size,
        liveBytes: s.liveBytes,
        failure: s.failure,
        count: s.chain.count,
      }),
      /** For KV clients: the key's metadata, authenticated for the request's nonce; the client opens the value itself. */
      sealed: (s: KvState, req: Buffer): Buffer => sealedAnswer(s, req),
      /** For KV clients: a range's keys and metadata, sealed for the request's nonce; the client opens the values itself. */
      sealedScan: (s: KvState, req: Buffer): Buffer => sealedScan(s, req),
      /** For KV clients: a window of gets, each key's metadata in the request's order, MAC'd for its nonce (answers.ts). */
      sealedGets: (s: KvState, req: Buffer): Buffer => {
        checkLive(s);
        return answerGets(s.ctx.cipher, (k) => s.map.get(k), s.chain.count, s.chain.head, req);
      },
      /** Compare heads learned from peers with this replica's chain (checkLive); FailStopError on a fork. */
      verify: (s: KvState): void => checkLive(s),
      /** A dead client's sweep (client-blocks.ts): the last sequence applied for `writer`, and every block the state references. */
      clientSweep: (s: KvState, writer: number): { last: number; refs: Set<number> } => {
        checkLive(s); // a failed replica's state is behind the log: it must judge nothing
        const refs = new Set<number>();
        for (const m of s.map.values()) if (m.loc !== 0) refs.add(m.loc);
        s.displaced.locsInto(refs);
        return { last: s.writers.get(writer) ?? 0, refs };
      },
      /** @internal Enclave metadata of a key (tests locate values in the arena with it). */
      meta: (s: KvState, key: string): Meta | undefined => {
        const m = s.map.get(key);
        return m === undefined ? undefined : { ...m };
      },
    },
    writes: { apply },
    codecs: {
      apply: {
        encode: (w: OpWriter, rec: LogRecord) => encodeRecord(ctx.cipher, scratch, w, rec),
        decode: (r: OpReader) => parser.decode(r),
      },
    },
    readCodecs: {
      get: notForClients,
      entry: notForClients,
      version: notForClients,
      has: notForClients,
      size: notForClients,
      scan: notForClients,
      info: notForClients,
      verify: notForClients,
      meta: notForClients,
      clientSweep: notForClients,
      sealed: sealedRequestCodec,
      sealedScan: sealedRequestCodec,
      sealedGets: sealedRequestCodec,
    },
    resultCodecs: {
      sealed: sealedResultCodec,
      sealedScan: sealedResultCodec,
      sealedGets: sealedResultCodec,
      // A client decodes the answer into its verified view (ClientWriteAnswer), not the node's ApplyResult.
      apply: clientWriteCodec(ctx) as unknown as ValueCodec<ApplyResult>,
    },
    digest: (s: KvState): string => {
      const parts = s.order.all().map((k) => {
        const m = s.map.get(k)!;
        return `${Buffer.from(k, 'latin1').toString('hex')}:${m.version}:${m.sealId}:${m.loc}:${m.len}:${Buffer.from(m.tag, 'latin1').toString('hex')}`;
      });
      return `${s.map.size}:${s.chain.count}:${Buffer.from(s.chain.head, 'latin1').toString('hex')}:${s.failure ?? ''}:${parts.join(',')}`;
    },
    snapshot,
    // The snapshot's displaced blocks were displaced before its log position: that is their mark.
    restore: (bytes: Uint8Array, pos?: number) => restore(ctx, bytes, pos ?? -1, pos ?? NaN),
  });
}

export type KvStructure = ReturnType<typeof kvStructure>;
