/**
 * The snapshot stream of a log stream (`<stream>_SNAP`): storing a site's
 * snapshot, finding and fetching the newest ones. Formats in
 * snapshot-format.ts; when snapshots are taken and installed in bridge.ts.
 *
 * - store: the chunks first (each with a message id, so a retried chunk is
 *   stored once), then the manifest on the manifest subject with the
 *   message id `m.<mark>`: every site that reaches the same mark of the
 *   schedule tries to store a snapshot for it, and JetStream keeps the
 *   first (the others are told `duplicate` and purge their chunks). A site
 *   that finds a manifest at or past its mark already stored stores nothing.
 *   After a new manifest, everything older than the previous snapshot's
 *   first chunk is purged: the stream holds the newest two snapshots (and
 *   whatever is being written).
 * - load: the newest manifest (last on its subject), then back along each
 *   manifest's `prev`, at most `snapshotCandidates`; a manifest or its
 *   chunks that fail a check are SnapshotInvalidError for that candidate.
 */
import type { JetStreamClient, JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import { chunkSubjectOf, CLUSTER_LIMITS, manifestSubjectOf, snapshotStreamOf } from './defaults.js';
import { BehindRetentionError, SnapshotInvalidError } from './errors.js';
import { publishUntil, untilDeadline } from './retry.js';
import { assembleSnapshot, encodeManifest, type Manifest, parseManifest, sha256, type SnapshotExpectation, splitChunks, type StoredChunk } from './snapshot-format.js';
import type { AnyStructure } from './structure-ref.js';

/** A snapshot to store: the state at `seq`, its schedule mark, its bytes. */
export interface SnapshotToStore {
  readonly seq: number;
  readonly mark: number;
  readonly data: Uint8Array;
}

export type StoreOutcome = 'stored' | 'duplicate' | 'skipped';

/** How many chunk requests one load keeps in flight. */
const FETCH_AHEAD = 4;

export class SnapshotStore {
  private readonly snaps: string;
  private readonly manifestSubject: string;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly expect: SnapshotExpectation,
    private readonly site: number,
    private readonly attemptMs: number,
  ) {
    this.snaps = snapshotStreamOf(expect.stream);
    this.manifestSubject = manifestSubjectOf(expect.stream);
  }

  private get(query: { seq: number } | { last_by_subj: string }, deadline: number): Promise<StoredMsg | null> {
    return untilDeadline(`snapshot stream '${this.snaps}'`, deadline, () => this.jsm.streams.getMessage(this.snaps, query));
  }

  /** The newest manifests, newest first: each parsed, or why it is invalid. */
  async candidates(deadline: number): Promise<(Manifest | SnapshotInvalidError)[]> {
    const out: (Manifest | SnapshotInvalidError)[] = [];
    let msg = await this.get({ last_by_subj: this.manifestSubject }, deadline);
    while (msg !== null && out.length < CLUSTER_LIMITS.snapshotCandidates) {
      if (msg.subject !== this.manifestSubject) {
        out.push(new SnapshotInvalidError(`the previous manifest named sequence ${msg.seq}, which is not a manifest`));
        break;
      }
      let prev = 0;
      try {
        const m = parseManifest(msg.data, this.expect);
        out.push(m);
        prev = m.prev;
      } catch (e) {
        if (!(e instanceof SnapshotInvalidError)) throw e;
        out.push(e);
        // Follow the link even from a manifest that fails, if it is a sequence before this one.
        const raw = msg.data.length >= 48 ? new DataView(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength).getFloat64(40, true) : 0;
        prev = Number.isSafeInteger(raw) && raw > 0 ? raw : 0;
      }
      if (!(prev > 0 && prev < msg.seq)) break;
      msg = await this.get({ seq: prev }, deadline);
    }
    return out;
  }

  /**
   * The newest valid snapshot a site that needs sequence `need` can install
   * when the stream holds `first..last`: at `first - 1` or later, and not
   * past `last`. A candidate that fails a check is passed over (never
   * installed); BehindRetentionError if none covers the gap,
   * SnapshotInvalidError (the first failure) if every candidate was invalid.
   */
  async newestCovering(need: number, first: number, last: number, user: AnyStructure, deadline: number): Promise<{ seq: number; bytes: Uint8Array }> {
    let invalid: SnapshotInvalidError | null = null;
    let older = 0;
    for (const c of await this.candidates(deadline)) {
      if (c instanceof SnapshotInvalidError) {
        invalid ??= c;
        continue;
      }
      if (c.seq > last) {
        invalid ??= new SnapshotInvalidError(`manifest: sequence ${c.seq} is past the stream's last, ${last}`);
        continue;
      }
      if (c.seq + 1 < first) {
        older = c.seq; // the stream lost messages after it; older candidates are older still
        break;
      }
      try {
        return { seq: c.seq, bytes: assembleSnapshot(c, await this.fetch(c, deadline), user) };
      } catch (e) {
        if (!(e instanceof SnapshotInvalidError)) throw e;
        invalid ??= e;
      }
    }
    if (invalid !== null && older === 0) throw invalid;
    throw new BehindRetentionError(this.expect.stream, need, first, older);
  }

  /** A manifest's chunks as stored (SnapshotInvalidError if one is gone). */
  async fetch(m: Manifest, deadline: number): Promise<StoredChunk[]> {
    const chunks: StoredChunk[] = new Array(m.chunks.length);
    let next = 0;
    const one = async (): Promise<void> => {
      while (next < m.chunks.length) {
        const i = next++;
        const msg = await this.get({ seq: m.chunks[i]! }, deadline);
        if (msg === null) throw new SnapshotInvalidError(`chunk ${i} (sequence ${m.chunks[i]}) is no longer stored`);
        chunks[i] = { subject: msg.subject, data: msg.data };
      }
    };
    await Promise.all(Array.from({ length: Math.min(FETCH_AHEAD, m.chunks.length) }, one));
    return chunks;
  }

  /** The newest stored manifest, if it parses (the de-duplication check before a store). */
  private async newest(deadline: number): Promise<{ seq: number; manifest: Manifest | null } | null> {
    const msg = await this.get({ last_by_subj: this.manifestSubject }, deadline);
    if (msg === null) return null;
    try {
      return { seq: msg.seq, manifest: parseManifest(msg.data, this.expect) };
    } catch (e) {
      if (e instanceof SnapshotInvalidError) return { seq: msg.seq, manifest: null };
      throw e;
    }
  }

  /** Store a snapshot, unless one at or past its mark is stored already. Resolves with what happened and the newest stored mark. */
  async store(snap: SnapshotToStore, deadline: number): Promise<{ outcome: StoreOutcome; mark: number }> {
    const newest = await this.newest(deadline);
    if (newest?.manifest && newest.manifest.mark >= snap.mark) return { outcome: 'skipped', mark: newest.manifest.mark };
    const subject = chunkSubjectOf(this.expect.stream, this.site, snap.seq);
    const chunks: number[] = [];
    for (const [i, part] of splitChunks(snap.data).entries()) {
      const ack = await publishUntil(this.js, subject, part, { msgID: `${subject}.${i}`, deadline, attemptMs: this.attemptMs, committed: 'unknown', what: 'snapshot chunk' });
      chunks.push(ack.seq);
    }
    const manifest: Manifest = {
      fingerprint: this.expect.fingerprint, site: this.site, seq: snap.seq, mark: snap.mark, size: snap.data.length,
      prev: newest?.seq ?? 0, sha256: sha256(snap.data), stream: this.expect.stream, chunks,
    };
    const ack = await publishUntil(this.js, this.manifestSubject, encodeManifest(manifest), { msgID: `m.${snap.mark}`, deadline, attemptMs: this.attemptMs, committed: 'unknown', what: 'snapshot manifest' });
    if (ack.duplicate) {
      // Another site stored this mark first, or this is our own retried publish.
      const stored = await this.get({ seq: ack.seq }, deadline);
      const mine = stored !== null && Buffer.compare(stored.data, encodeManifest(manifest)) === 0;
      if (!mine) {
        await untilDeadline('snapshot purge', deadline, () => this.jsm.streams.purge(this.snaps, { filter: subject }));
        return { outcome: 'duplicate', mark: snap.mark };
      }
    }
    // Keep the previous snapshot (a site may be loading it) and this one; drop everything older.
    const keepFrom = newest?.manifest?.chunks[0];
    if (keepFrom !== undefined) await untilDeadline('snapshot purge', deadline, () => this.jsm.streams.purge(this.snaps, { seq: keepFrom }));
    return { outcome: 'stored', mark: snap.mark };
  }
}
