/**
 * NrFS clients: threads that use the file system without a replica of
 * their own (NR's `connect`), through one node's. A client has the same
 * NrFs calls, node:fs facade (`nodeFs(connectFs(handle))`) and errors as an
 * attached thread; its metadata ops are the node's reads and logged
 * writes, and file data never passes through the node:
 *
 * - a write takes fresh pages of the shared pool itself (TAKEN under the
 *   client's owner id, see client-owners.ts), copies its bytes into them
 *   and sends the same logged op a replica would (page refs only). A write
 *   that is not whole pages at a known position first asks the node where
 *   it lands and which edge pages it merges with (the `layout` read); the
 *   apply's edge check makes a merge with a page reused meanwhile a
 *   CONFLICT, redone (see docs/fs.md, "Clients");
 * - a read asks the node for the refs of the pages it spans (`pageRefs`),
 *   copies them out of the pool, and checks afterwards that no page was
 *   reused under the copy (its generation), else reads again;
 * - every open is logged (a local open needs a replica to check that the
 *   log did not move); fds are the client's, published in the open table
 *   under its owner id like a replica slot's.
 *
 * A client whose node died gets NR's NodeGoneError; one killed mid-write
 * leaves pages TAKEN under its id, which a replica sweeps
 * (`releaseClients`) once `declareFsClientDead` was called and no op it
 * sent can still reach the log.
 */
import { isMainThread, threadId } from 'node:worker_threads';
import { CapacityError, type Client, connect, declareClientDead, FailStopError } from '../nr/index.js';
import { ClientOwners, type ReadFence } from './client-owners.js';
import { ERRNO, FsError, type FsErrorCode } from './errors.js';
import type { FsBinding, FsNode, OpenFile } from './fds.js';
import { asFsArgument, checkFsOptions, CLIENT_SLOT_BYTES, type NrFsHandle, ownerId } from './handle.js';
import { NrFs } from './nrfs.js';
import { ClientPages } from './pages/client-pages.js';
import { copyBytes, genOf, genOfRef, indexOfRef, SharedPages } from './pages/pool.js';
import { checkPath, FsArgumentError, type PathLike } from './paths.js';
import { fsStructure, type FsStructure, HOLE, PAGE_BYTES, WHOLE } from './state.js';
import type { WriteHooks, WriterPages } from './writer.js';
import { type ChangeListener, ring } from './changes.js';
import { checkPosition, checkRange } from './checks.js';
import { ClientPipeline, type PipelineHost, REUSED_READ_ATTEMPTS } from './client-pipeline.js';

export interface ConnectFsOptions {
  /** The node (replica slot) to be served by; default the serving node with the fewest clients. */
  node?: number;
  /** Bound on every op, in ms (NR's client timeoutMs). Default 30 000. */
  timeoutMs?: number;
  /** The user and group this thread acts as (default 0, root), as for attachFs. */
  uid?: number;
  gid?: number;
  /** @internal Test hooks: stop a data write at a phase (pages taken, filled, logged). */
  pageHooks?: WriteHooks;
}

const CONNECT_KEYS = new Set(['node', 'timeoutMs', 'uid', 'gid', 'pageHooks']);
/** Slot bytes an op needs besides its page refs (header, path, fields). */
const CLIENT_OP_ROOM = 16 + 64;
/** Pages one read answer names at most, so that its refs fit the client slot (9 slot bytes a page allowed). */
const READ_PAGES = Math.floor((CLIENT_SLOT_BYTES - CLIENT_OP_ROOM) / 9) - 1;

type FsClient = Client<ReturnType<FsStructure['create']>, FsStructure['reads'], FsStructure['writes']>;

/**
 * Use the file system from this thread without a replica, through a node's
 * (the file system must be created with `clients`). Any thread may connect,
 * the main thread too (its calls block its event loop while they wait).
 */
export function connectFs(handle: NrFsHandle, options: ConnectFsOptions = {}): NrFsClient {
  if (handle === null || typeof handle !== 'object' || handle.kind !== 'nrfs') {
    throw new FsArgumentError('ERR_INVALID_ARG_TYPE', 'connectFs needs a handle made by createFs()');
  }
  checkFsOptions('connectFs', options, CONNECT_KEYS);
  if (handle.clientOwners === null) throw new CapacityError('this file system was created without clients (createFs option `clients`)');
  const who = { uid: ownerId(options.uid, 'uid'), gid: ownerId(options.gid, 'gid') };
  const owners = new ClientOwners(handle.clientOwners);
  const owner = owners.claim(threadId);
  if (owner < 0) throw new CapacityError(`all ${owners.count} NrFS client ids are taken`);
  let client: FsClient;
  try {
    const structure = fsStructure({ pool: handle.pool, maxPages: handle.maxPages, maxInodes: handle.maxInodes });
    const nrOptions = { ...(options.node === undefined ? {} : { node: options.node }), ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) };
    client = asFsArgument('connectFs', () => connect(handle.nr, structure, nrOptions));
  } catch (e) {
    owners.cas(owner, ClientOwners.liveWord(threadId), 0);
    throw e;
  }
  // Every synchronous call first settles the pipelined ops issued before it (see client-pipeline.ts).
  let pipeline: ClientPipeline | null = null;
  const settleFirst = (): void => pipeline?.drain();
  const node: FsNode = {
    reads: revived(client.reads, settleFirst),
    writes: revived(client.writes, settleFirst),
    sync: () => {},
    holdsLog: () => true,
    logMark: () => 0,
  };
  const pages = new ClientPages(new SharedPages(handle.pool), owner);
  const maxWriteBytes = Math.min(handle.maxWriteBytes, (Math.floor((CLIENT_SLOT_BYTES - CLIENT_OP_ROOM) / 8) - 1) * PAGE_BYTES);
  const fs = new NrFsClient(handle, { replica: null, node, slot: owner, holder: null, pages }, who, options.pageHooks, maxWriteBytes, client, owners, owners.fence(owner));
  pipeline = fs.pipeline;
  fs.claimRegion();
  return fs;
}

/**
 * For whoever manages a client's worker, after `worker.terminate()`: NR's
 * declareClientDead (the node answers what it had sent), and the client's
 * owner ids are marked DEAD, for a replica's `releaseClients` to sweep.
 * Returns the owner ids marked.
 */
export function declareFsClientDead(handle: NrFsHandle, deadThreadId: number): number[] {
  declareClientDead(handle.nr, deadThreadId);
  return handle.clientOwners === null ? [] : new ClientOwners(handle.clientOwners).markDead(deadThreadId);
}

export class NrFsClient extends NrFs {
  private closed = false;
  private readonly pool: SharedPages;
  /** @internal The pipelined ops in flight (preadAsync, pwriteAsync). */
  readonly pipeline: ClientPipeline;

  /** @internal use connectFs() */
  constructor(
    handle: NrFsHandle,
    bound: FsBinding,
    who: { uid: number; gid: number },
    hooks: WriteHooks | undefined,
    maxWriteBytes: number,
    private readonly client: FsClient,
    private readonly owners: ClientOwners,
    /** This id's read fence: replicas reuse no page a read of ours may still copy (pages/read-grace.ts). */
    private readonly fence: ReadFence,
  ) {
    super(handle, bound, who, undefined, hooks, maxWriteBytes);
    this.pool = bound.pages.pool;
    this.pipeline = new ClientPipeline(this.pipelineHost(bound.pages));
    liveClients.add(this);
    installExitHook();
  }

  /** The node (replica slot) serving this client. */
  get nodeSlot(): number {
    return this.client.node;
  }

  /** The client owner id: its pages and opens are recorded under it. */
  get ownerId(): number {
    return this.slot;
  }

  /**
   * pread(2) pipelined: many may be in flight, each a request in the
   * client's slot ring, served by the node in one combined batch with the
   * others sent in the same turn; they (and pwriteAsync) take effect and
   * settle in the order they were made (client-pipeline.ts). Errors reject.
   */
  preadAsync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    try {
      const { file, pos } = this.checkedIo(fd, buffer, offset, length, position, false);
      if (length === 0) return Promise.resolve(0);
      const ino = file.ino;
      return this.pipeline.read(ino, buffer, offset, length, pos, () => this.readAt(ino, buffer, offset, length, pos));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * pwrite(2) pipelined, as preadAsync. The bytes are copied at the call
   * (the buffer is free again at once): a write of whole pages at a page
   * boundary into pool pages, and is one request; any other into a copy,
   * and waits for the ops before it, then runs as pwrite does.
   */
  pwriteAsync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    try {
      const { file, pos } = this.checkedIo(fd, buffer, offset, length, position, true);
      if (length === 0) return Promise.resolve(0);
      this.checkWriteSize(length);
      const src = buffer.subarray(offset, offset + length);
      const { ino, append } = file;
      return this.pipeline.write(ino, src, pos, append, (bytes) => {
        this.logWrite(ino, pos, append, bytes);
        return length;
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** pread/pwrite's checks, made at the call: the fd open for it (EBADF), the buffer range, the position. */
  private checkedIo(fd: number, buffer: Uint8Array, offset: number, length: number, position: number, write: boolean): { file: OpenFile; pos: number } {
    const file = this.fds[fd];
    if (file === undefined || !(write ? file.writable : file.readable)) throw new FsError('EBADF', write ? 'write' : 'read');
    checkRange(buffer, offset, length);
    return { file, pos: checkPosition(position) };
  }

  /** Block until every pipelined op has settled (their promises then resolve or reject). */
  settle(): void {
    this.pipeline.drain();
  }

  /** Close after the pipelined ops issued before it took effect. */
  override close(fd: number): void {
    this.pipeline.drain();
    super.close(fd);
  }

  private pipelineHost(pages: WriterPages): PipelineHost {
    const client = this.client;
    const bell = this.bell;
    return {
      pages,
      fence: this.fence,
      readPages: READ_PAGES,
      sendRead: (ino, pos, len, readNo, done) => client.submitRead('pageRefs', [ino, pos, len, READ_PAGES, this.slot, readNo], (e, v) => done(e === undefined ? e : revive(e), v)),
      sendWrite: (ino, now, pos, len, refs, done) => client.submitWrite('pwrite', [{ ino, append: false, now, at: pos, len, expFirst: WHOLE, expLast: WHOLE, refs }], (e, v) => done(e === undefined ? e : revive(e), v)),
      checkRefs: (r, pos, len) => this.checkRefs(r, pos, len),
      copyPages: (r, buf, off, n, pos) => this.copyPages(r, buf, off, n, pos),
      drainRequests: () => client.drain(),
      rang: () => ring(bell),
    };
  }

  /** @internal Take this id's open-table region. */
  claimRegion(): void {
    this.opens.claim();
  }

  /**
   * pread through the node: the refs of the pages the read spans, copied
   * here. A page freed and taken again after the node named it has a new
   * generation: then the copy may be torn, and the read is asked again (the
   * node's answer then names the file's current pages).
   */
  protected override readAt(ino: number, buf: Uint8Array, off: number, len: number, pos: number): number {
    let done = 0;
    while (done < len) {
      const at = pos + done;
      const want = len - done;
      const n = this.readChunk(ino, buf, off + done, want, at, READ_PAGES);
      done += n;
      // Shorter than asked and than the node's page cap (see pageRefs): EOF in the state it read.
      // Reading on would join the tail of a later state to this one (a torn read).
      if (n < Math.min(want, READ_PAGES * PAGE_BYTES - (at % PAGE_BYTES))) break;
    }
    return done;
  }

  private readChunk(ino: number, buf: Uint8Array, off: number, len: number, pos: number, maxPages: number): number {
    // No pipelined read is in flight here (drained first), so the fence is ours alone until the copy is done.
    this.pipeline.drain();
    const fence = this.fence;
    try {
      for (let attempt = 1; ; attempt++) {
        const r = this.reads.pageRefs(ino, pos, len, maxPages, this.slot, fence.send());
        const n = this.checkRefs(r, pos, len);
        if (this.copyPages(r, buf, off, n, pos)) return n;
        if (attempt >= REUSED_READ_ATTEMPTS) throw new FsError('EAGAIN', 'read', undefined, undefined, 'the pages read kept being reused during the copy');
      }
    } finally {
      fence.low(fence.sent);
    }
  }

  /** The answer is data to validate: a byte count within the read, one ref (or HOLE) in the pool per page it spans. */
  private checkRefs(r: unknown, pos: number, len: number): number {
    const ok = Array.isArray(r) && r.length >= 1 && Number.isSafeInteger(r[0]) && r[0] >= 0 && r[0] <= len;
    const n = ok ? (r[0] as number) : -1;
    const pages = n <= 0 ? 0 : Math.floor((pos + n - 1) / PAGE_BYTES) - Math.floor(pos / PAGE_BYTES) + 1;
    if (!ok || (r as unknown[]).length !== pages + 1 || !(r as unknown[]).every((v, k) => k === 0 || (Number.isSafeInteger(v) && (v === HOLE || ((v as number) >= 0 && indexOfRef(v as number) < this.pool.pages))))) {
      throw new FailStopError('NrFS client: the node\'s answer to a read is malformed (tampered in the client slot)');
    }
    return n;
  }

  /** Copy `n` bytes at `pos` out of the pages `r` names; false if one was reused meanwhile. */
  private copyPages(r: readonly number[], buf: Uint8Array, off: number, n: number, pos: number): boolean {
    const bytes = this.pool.bytes;
    let done = 0;
    for (let k = 1; done < n; k++) {
      const at = pos + done;
      const inPage = at % PAGE_BYTES;
      const m = Math.min(PAGE_BYTES - inPage, n - done);
      const ref = r[k]!;
      if (ref === HOLE) buf.fill(0, off + done, off + done + m);
      else {
        const from = indexOfRef(ref) * PAGE_BYTES + inPage;
        copyBytes(buf, bytes.subarray(from, from + m), off + done);
      }
      done += m;
    }
    // Every reuse takes a page with its generation + 1 before writing it: the same generation after the copy means untouched.
    for (let k = 1; k < r.length; k++) {
      const ref = r[k]!;
      if (ref !== HOLE && genOf(this.pool.state(indexOfRef(ref))) !== genOfRef(ref)) return false;
    }
    return true;
  }

  /** readFile through an fd (as node:fs does): each chunk read is one state of the file. */
  override readFile(path: PathLike): Buffer;
  override readFile(path: PathLike, encoding: BufferEncoding): string;
  override readFile(path: PathLike, encoding?: BufferEncoding): Buffer | string {
    const p = checkPath(path, 'open');
    const fd = this.open(p, 'r');
    try {
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        // One byte more than the file holds: a short read ends at EOF of the same state it read,
        // so a file that fits one read is one state (as a replica's readFile), never the head of
        // one write and the tail of the next.
        const chunk = Buffer.allocUnsafe(Math.max(PAGE_BYTES, Math.min(1 << 20, this.fstat(fd).size - total + 1)));
        const n = this.read(fd, chunk, 0, chunk.length, null);
        if (n > 0) chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
        total += n;
        if (n < chunk.length) break;
      }
      const buf = Buffer.concat(chunks, total);
      return encoding === undefined ? buf : buf.toString(encoding);
    } finally {
      this.close(fd);
    }
  }

  override watch(path: PathLike, _listener: ChangeListener): never {
    throw new FsError('ENOTSUP', 'watch', checkPath(path, 'watch'), undefined, 'an NrFS client applies no log entries: watch from a thread with a replica');
  }

  override releaseSlot(): number {
    throw new TypeError('releaseSlot: an NrFS client holds no replica (call it on a replica)');
  }

  override releaseClients(): number {
    throw new TypeError('releaseClients: an NrFS client holds no replica (call it on a replica)');
  }

  /** Close: the same as close(). */
  override detach(): void {
    this.closeClient();
  }

  /**
   * Drop every fd (reaping unlinked files nobody else holds), give cached
   * pages back, and the NR client slot. Pages of writes whose outcome is
   * unknown (a node gone, a timeout) stay under the owner id, left DEAD for
   * a replica's releaseClients; otherwise the id is free again.
   */
  closeClient(): void {
    if (this.closed) return;
    try {
      this.pipeline.drain();
    } catch {
      // the node is gone: the ops in flight failed, their pages are doubtful or cached
    }
    this.closed = true;
    liveClients.delete(this);
    this.fence.low(this.fence.sent); // nothing left to copy (reads that failed with the node included)
    this.fds.length = 0;
    let clean = true;
    try {
      this.opens.leave();
    } catch {
      clean = false; // the node is gone: the region is discarded by the sweep
    }
    const doubts = (this.holder as ClientPages).leave();
    this.client.close();
    this.owners.cas(this.slot, ClientOwners.liveWord(threadId), doubts > 0 || !clean ? ClientOwners.deadWord(threadId) : 0);
  }

  /** @internal The thread exits without closing: leave the id to the sweep (NR gives the client slot back itself). */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    liveClients.delete(this);
    this.owners.markDead(threadId);
  }
}

/** Errors thrown by an op on the node reach the client as plain Errors with a code: make them the FsErrors they were. */
function revive(e: unknown): unknown {
  if (!(e instanceof Error) || e instanceof FsError) return e;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !Object.hasOwn(ERRNO, code)) return e;
  const c = code as FsErrorCode;
  const head = `${c}: ${ERRNO[c][1]}, `;
  if (!e.message.startsWith(head)) return e;
  const m = /^(\S+)(?: '(.*?)')?(?: -> '(.*?)')?(?: \((.*)\))?$/s.exec(e.message.slice(head.length));
  if (m === null) return e;
  return new FsError(c, m[1]!, m[2], m[3], m[4]);
}

function revived<T extends object>(ops: T, before: () => void): T {
  const out: Record<string, (...a: unknown[]) => unknown> = {};
  for (const [name, f] of Object.entries(ops) as [string, (...a: unknown[]) => unknown][]) {
    out[name] = (...args) => {
      before();
      try {
        return f(...args);
      } catch (e) {
        throw revive(e);
      }
    };
  }
  return Object.freeze(out) as T;
}

/** Clients of this thread not closed: a worker that exits leaves their ids to the sweep. */
const liveClients = new Set<NrFsClient>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled || isMainThread) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of [...liveClients]) c.abandon();
  });
}
