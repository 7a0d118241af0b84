/**
 * A KV client's window: its async ops go out at the end of the turn that
 * made them (setImmediate), in the order they were made, and its simple
 * gets, puts and deletes made in one turn share requests. Per request, not
 * per op: one AEAD seal on the client, one open and one MAC on the node,
 * one chain step on every replica, one MAC check on the client.
 *
 * A run of consecutive simple ops is cut, in order, into chunks that fit
 * the client's slot (request and answer). A chunk of gets only is one
 * sealed window of gets (a read: answers.ts). A chunk with a write is one
 * log record whose items are its puts, deletes and gets in the order they
 * were made: each get is answered at its place in the record, after the
 * writes made before it, so a client's pipelined ops take effect in its
 * program order (a get after a put of the same key sees that put). The
 * record's answer (MAC'd: writer, sequence, versions, the gets' metadata)
 * settles every op of the chunk.
 *
 * Every other async op (batch, compare-and-set, scan, a get asked again)
 * is deferred to the same flush, in its place, so sequence numbers are
 * taken, and requests sent, in the order the ops were made.
 *
 * A get whose answer is behind what this client learned, or whose value
 * fails to open (its block reused after the answer), is asked again alone
 * (the single-get path, with its staleness bound and its retry rule).
 */
import { getsRequest, getsAnswerBytes, getsRequestBytes, GETS_LABEL, openGetsAnswer, REQUEST_NONCE_BYTES, sealRequest } from './answers.js';
import type { Cipher } from './crypto.js';
import { IntegrityError } from './errors.js';
import { MAX_BATCH_ITEMS } from './issue.js';
import { type ClientWriteAnswer, writeAnswerBytes } from './client-answers.js';
import { displayKey } from './crypto.js';
import { GET, type LogItem, type LogRecord, PUT, recordItemBytes, recordRequestBytes } from './record.js';
import { type Meta } from './enclave.js';

/** What the window needs from its client. */
export interface WindowHost {
  readonly cipher: Cipher;
  /** The largest request or answer payload of a slot. */
  readonly maxPayloadBytes: number;
  sendGets(req: Buffer): Promise<Buffer>;
  sendRecord(rec: LogRecord): Promise<ClientWriteAnswer>;
  /** This client's next record of `items` (its next sequence number, its known point). */
  record(items: LogItem[]): LogRecord;
  /** Verify a write's answer for `rec` (IntegrityError if it is not the node's answer to it). */
  checkWrite(rec: LogRecord, ans: ClientWriteAnswer, blocks: number[]): ClientWriteAnswer;
  afterFailedWrite(e: unknown, blocks: number[]): void;
  /** Learn a verified chain position; false if it is behind what this client learned; throws FailStopError if the chain forked. */
  fresh(count: number, head: string): boolean;
  /** Open a value with this client's key; null if it fails verification. */
  open(id: string, m: Meta): Buffer | null;
  /** Ask for one key alone (staleness bound, retries); `failed` names a version that already failed to open. */
  getAlone(id: string, failed: string): Promise<Buffer | undefined>;
  /** Called once per flush, before anything is sent (the freshness poll). */
  beforeFlush(): void;
}

interface WindowGet {
  kind: typeof GET;
  id: string;
  resolve: (v: Buffer | undefined) => void;
  reject: (e: unknown) => void;
}

interface WindowWrite {
  kind: number;
  id: string;
  /** A put's item names the block it sealed its value into: (item.loc, cipher.storedBytes(item.len)). */
  item: LogItem;
  resolve: (version: number) => void;
  reject: (e: unknown) => void;
}

type WindowOp = WindowGet | WindowWrite;

export class ClientWindow {
  private queue: (WindowOp | (() => void))[] = [];

  constructor(private readonly host: WindowHost) {}

  get(id: string): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => this.push({ kind: GET, id, resolve, reject }));
  }

  /** A put or delete item (sealed by the caller); resolves with its version (0 for a delete). */
  write(item: LogItem): Promise<number> {
    return new Promise((resolve, reject) => this.push({ kind: item.op, id: item.key, item, resolve, reject }));
  }

  /** Send `send()` at the flush, in its place among the window's ops. */
  defer<T>(send: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      this.push(() => {
        try {
          send().then(resolve, reject);
        } catch (e) {
          reject(e);
        }
      }),
    );
  }

  private push(x: WindowOp | (() => void)): void {
    this.queue.push(x);
    if (this.queue.length === 1) setImmediate(this.flush);
  }

  /** Send everything queued, in order (also called before a synchronous op and at close, so order holds). */
  readonly flush = (): void => {
    const q = this.queue;
    if (q.length === 0) return;
    this.queue = [];
    this.host.beforeFlush();
    let run: WindowOp[] = [];
    for (const x of q) {
      if (typeof x !== 'function') {
        run.push(x);
        continue;
      }
      this.sendRun(run);
      run = [];
      x();
    }
    this.sendRun(run);
  };

  /** Cut a run of simple ops, in order, into chunks that fit a slot, and send each. */
  private sendRun(run: WindowOp[]): void {
    const max = this.host.maxPayloadBytes;
    for (let start = 0; start < run.length; ) {
      let end = start;
      let itemBytes = 0;
      let keyBytes = 0;
      let gets = 0;
      let writes = false;
      while (end < run.length && end - start < MAX_BATCH_ITEMS) {
        const op = run[end]!;
        const w: boolean = writes || op.kind !== GET;
        const ib = itemBytes + recordItemBytes(op.kind, op.id.length);
        const kb = keyBytes + op.id.length;
        const g = gets + (op.kind === GET ? 1 : 0);
        const n = end - start + 1;
        const fits = w ? recordRequestBytes(ib) <= max && writeAnswerBytes(n, g) <= max : getsRequestBytes(n, kb) <= max && getsAnswerBytes(n) <= max;
        // An op too large even alone goes alone: the core refuses it (OpTooLargeError) without touching the others.
        if (!fits && end > start) break;
        itemBytes = ib;
        keyBytes = kb;
        gets = g;
        writes = w;
        end++;
      }
      const chunk = run.slice(start, end);
      try {
        if (writes) this.sendRecord(chunk, gets);
        else this.sendGets(chunk as WindowGet[]);
      } catch (e) {
        // Nothing was sent (sealing the request failed): every op of the chunk fails with it.
        for (const op of chunk) op.reject(e);
      }
      start = end;
    }
  }

  private sendGets(chunk: WindowGet[]): void {
    const req = sealRequest(this.host.cipher, GETS_LABEL, getsRequest(chunk.map((op) => op.id)));
    const nonce = req.toString('latin1', 0, REQUEST_NONCE_BYTES);
    this.host.sendGets(req).then(
      (ans) => {
        const a = openGetsAnswer(this.host.cipher, nonce, chunk.length, ans);
        if (a === null) {
          for (const op of chunk) op.reject(new IntegrityError('the node\'s answer to a window of gets failed authentication (tampered in the client slot)', displayKey(op.id)));
          return;
        }
        let fresh: boolean;
        try {
          fresh = this.host.fresh(a.count, a.head);
        } catch (e) {
          for (const op of chunk) op.reject(e); // the node's chain forked: no op of the window is answered
          return;
        }
        for (let i = 0; i < chunk.length; i++) this.settleGet(chunk[i]!, fresh, a.metas[i]!);
      },
      (e: unknown) => {
        for (const op of chunk) op.reject(e);
      },
    );
  }

  private sendRecord(chunk: WindowOp[], gets: number): void {
    const items: LogItem[] = [];
    const blocks: number[] = [];
    for (const op of chunk) {
      if (op.kind === GET) items.push({ op: GET, key: op.id, sealId: 0, loc: 0, len: 0, tag: '' });
      else {
        const w = op as WindowWrite;
        items.push(w.item);
        if (w.item.op === PUT) blocks.push(w.item.loc, this.host.cipher.storedBytes(w.item.len));
      }
    }
    let rec: LogRecord;
    try {
      rec = this.host.record(items);
    } catch (e) {
      this.host.afterFailedWrite(e, blocks);
      for (const op of chunk) op.reject(e);
      return;
    }
    this.host.sendRecord(rec).then(
      (raw) => {
        let ans: ClientWriteAnswer;
        let fresh: boolean;
        try {
          ans = this.host.checkWrite(rec, raw, blocks);
          // A record without a condition always applies, and answers one metadata per get item.
          if (!ans.ok || ans.reads.length !== gets) throw new IntegrityError('the node\'s answer to a write failed authentication (tampered in the client slot)', displayKey(items[0]!.key));
          fresh = gets === 0 || this.host.fresh(ans.count, ans.head);
        } catch (e) {
          for (const op of chunk) op.reject(e);
          return;
        }
        for (let i = 0, r = 0; i < chunk.length; i++) {
          const op = chunk[i]!;
          if (op.kind === GET) this.settleGet(op as WindowGet, fresh, ans.reads[r++]!);
          else (op as WindowWrite).resolve(ans.versions[i]!);
        }
      },
      (e: unknown) => {
        this.host.afterFailedWrite(e, blocks);
        for (const op of chunk) op.reject(e);
      },
    );
  }

  private settleGet(op: WindowGet, fresh: boolean, m: Meta | null): void {
    if (!fresh) {
      this.host.getAlone(op.id, '').then(op.resolve, op.reject);
      return;
    }
    if (m === null) {
      op.resolve(undefined);
      return;
    }
    const value = this.host.open(op.id, m);
    if (value !== null) op.resolve(value);
    else this.host.getAlone(op.id, String(m.version)).then(op.resolve, op.reject);
  }
}
