/**
 * Test worker (test/fs-client-fenced.test.ts).
 *
 * - 'node': attach an NrFS replica, report { slot }, serve clients from the
 *   idle event loop and reclaim pages every 5 ms (a serve-only replica frees
 *   what its clients' writes displace). Messages: { block: ms } (answer
 *   { blocked }, then stall the thread for ms: no replay, no heartbeat, no
 *   serving; then read /f and answer { woke, status, transfers, size }),
 *   'settle' (catch up and reclaim; answer { cached }).
 * - 'client': connectFs to `node`, then run rounds on its own files under
 *   /c until control word STOP is set (or MAX_ROUNDS rounds), counting rounds in
 *   word ROUNDS. It holds an fd on /held from the start (the test unlinks
 *   it) and reads it through that fd at the end. Each round: writeFile,
 *   readFile, an fd's partial pwrite and pread, rename, every third round
 *   an unlink, and pipelined whole-page pwriteAsync / preadAsync pairs.
 *   With `pauseAt`, round PAUSE_ROUND stops before its writeFile or its
 *   pipelined ops (after their file's open) (word PAUSED) until the test sets GO. Every answer is checked
 *   against what node:fs would give (the model: the possible contents of
 *   each path, more than one after an op whose outcome is unknown); an
 *   answer outside it, or an error other than NR's NodeGoneError /
 *   FencedError / TimeoutError, is counted wrong. Reports the outcomes,
 *   the model, and then detaches. Message 'again' after the report:
 *   connect a fresh client, write and read one file, answer { again }.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { attachFs, connectFs, type NrFs, type NrFsHandle } from '../../src/fs/index.js';
import { FencedError, NodeGoneError, TimeoutError } from '../../src/nr/index.js';
import { clientBytes, HELD, MAX_ROUNDS, overlay, PATCH, PATCH_AT, PIPE_PAGES, pipeByte, pipeFiles, FAILED, GO, PAUSE_ROUND, PAUSED, type PausePoint, RELEASE, ROUNDS, STOP } from '../support/fs-fenced-files.js';

type Input = { handle: NrFsHandle; mode: 'node' | 'client'; node?: number; control?: SharedArrayBuffer; timeoutMs?: number; pauseAt?: PausePoint };
const input = workerData as Input;

export interface TypedFailure {
  op: string;
  path: string;
  cls: string;
  committed: boolean | 'unknown';
}

export interface ClientReport {
  threadId: number;
  owner: number;
  rounds: number;
  failures: TypedFailure[];
  wrong: string[];
  /** Each path's possible contents (null: absent). */
  model: [string, (Uint8Array | null)[]][];
}

if (input.mode === 'node') {
  const fs = attachFs(input.handle);
  parentPort!.postMessage({ slot: fs.replica.id });
  const reclaim = setInterval(() => fs.reclaimPages(), 5);
  parentPort!.on('message', (m: string | { block: number }) => {
    if (typeof m === 'object') {
      parentPort!.postMessage({ blocked: true });
      // Bounded: a test that never releases it still ends.
      Atomics.wait(new Int32Array(input.control!), RELEASE, 0, m.block);
      const size = fs.readFile('/f').length;
      const s = fs.replica.stats();
      parentPort!.postMessage({ woke: true, status: s.status, transfers: s.stateTransfers, size });
    } else if (m === 'settle') {
      fs.replica.sync();
      fs.reclaimPages();
      parentPort!.postMessage({ cached: fs.pageStats().cached });
    } else if (m === 'stop') {
      clearInterval(reclaim);
      fs.detach();
      parentPort!.postMessage({ stopped: true });
    }
  });
} else {
  const words = new Int32Array(input.control!);
  const fs = connectFs(input.handle, { node: input.node!, timeoutMs: input.timeoutMs ?? 10_000 });
  const model = new Map<string, (Uint8Array | null)[]>();
  const failures: TypedFailure[] = [];
  const wrong: string[] = [];
  const same = (a: Uint8Array | null, b: Uint8Array | null): boolean => (a === null || b === null ? a === b : Buffer.from(a).equals(b));
  const legal = (path: string, v: Uint8Array | null): boolean => (model.get(path) ?? [null]).some((c) => same(c, v));
  const widen = (path: string, more: (Uint8Array | null)[]): void => {
    const now = model.get(path) ?? [null];
    model.set(path, [...now, ...more.filter((m) => !now.some((c) => same(c, m)))]);
  };
  /** Runs one op; true if it answered. A typed failure widens nothing by itself: the caller says what may have happened. */
  const attempt = (op: string, path: string, f: () => void): boolean => {
    try {
      f();
      return true;
    } catch (e) {
      if (e instanceof NodeGoneError || e instanceof FencedError || e instanceof TimeoutError) {
        Atomics.store(words, FAILED, 1);
        if (failures.length < 200) failures.push({ op, path, cls: e.constructor.name, committed: e.committed });
      } else wrong.push(`${op} ${path}: ${(e as Error).constructor.name} ${String((e as { code?: string }).code)} ${(e as Error).message}`);
      return false;
    }
  };
  // Held from the start: the test unlinks /held during the stall; it stays readable through this fd until its close.
  let held = -1;
  if (!attempt('open', '/held', () => (held = fs.open('/held', 'r')))) wrong.push('open /held failed before the stall');
  /**
   * PIPE_PAGES whole-page pwriteAsync to `path` (page k filled with pipeByte(round, k)), each followed by a preadAsync
   * of that page, all in flight at once: each read sees the write issued before it (issue order).
   */
  const pipelined = async (path: string, round: number): Promise<void> => {
    let fd = -1;
    if (!attempt('open', path, () => (fd = fs.open(path, 'w+')))) {
      widen(path, [new Uint8Array(0)]);
      return;
    }
    model.set(path, [new Uint8Array(0)]);
    if (round === PAUSE_ROUND && input.pauseAt === 'pipelined') pause();
    const writes: Promise<number>[] = [];
    const reads: { page: Buffer; done: Promise<number> }[] = [];
    for (let k = 0; k < PIPE_PAGES; k++) {
      writes.push(fs.pwriteAsync(fd, Buffer.alloc(4096, pipeByte(round, k)), 0, 4096, k * 4096));
      const page = Buffer.alloc(4096);
      reads.push({ page, done: fs.preadAsync(fd, page, 0, 4096, k * 4096) });
    }
    const wrote = await Promise.allSettled(writes);
    const read = await Promise.allSettled(reads.map((r) => r.done));
    const written: (boolean | 'maybe')[] = [];
    for (let k = 0; k < PIPE_PAGES; k++) {
      const w = wrote[k]!;
      if (w.status === 'fulfilled') {
        if (w.value !== 4096) wrong.push(`pwriteAsync ${path} page ${k}: ${w.value}`);
        written.push(true);
      } else {
        attempt('pwriteAsync', path, () => {
          throw w.reason;
        });
        const c = (w.reason as { committed?: unknown }).committed;
        written.push(c === false ? false : 'maybe');
      }
      const r = read[k]!;
      if (r.status === 'fulfilled') {
        // Issued after its page's write: it sees that write (when that write took effect; a refused one leaves a hole or EOF).
        const ok = written[k] === true ? r.value === 4096 && reads[k]!.page.every((x) => x === pipeByte(round, k)) : true;
        if (!ok) wrong.push(`preadAsync ${path} page ${k}: ${r.value} bytes, not the page written before it`);
      } else {
        attempt('preadAsync', path, () => {
          throw r.reason;
        });
      }
    }
    model.set(path, pipeFiles(round, written));
    attempt('close', path, () => fs.close(fd));
  };
  /** Stops before an op until the test has stalled the node, so that op goes out to a node that cannot serve it. */
  const pause = (): void => {
    Atomics.store(words, PAUSED, 1);
    Atomics.notify(words, PAUSED);
    // Bounded: a test that never lets it go on still ends.
    Atomics.wait(words, GO, 0, 20_000);
  };
  let round = 0;
  for (; round < MAX_ROUNDS && Atomics.load(words, STOP) === 0; round++) {
    if (round === PAUSE_ROUND && input.pauseAt === 'writeFile') pause();
    const p = `/c/f${round}`;
    const q = `/c/g${round}`;
    const a = clientBytes(round);
    const patched = overlay(a, PATCH, PATCH_AT);
    if (attempt('writeFile', p, () => fs.writeFile(p, a))) model.set(p, [a]);
    else widen(p, [new Uint8Array(0), a]);
    attempt('readFile', p, () => {
      const got = fs.readFile(p);
      if (!legal(p, got)) wrong.push(`readFile ${p}: ${got.length} bytes, not what was written`);
    });
    if (model.get(p)!.length === 1 && model.get(p)![0] !== null) {
      let fd = -1;
      const opened = attempt('open', p, () => (fd = fs.open(p, 'r+')));
      if (opened) {
        const wrote = attempt('pwrite', p, () => {
          const n = fs.pwrite(fd, PATCH, 0, PATCH.length, PATCH_AT);
          if (n !== PATCH.length) wrong.push(`pwrite ${p}: ${n}`);
        });
        if (wrote) model.set(p, [patched]);
        else widen(p, [patched]);
        attempt('pread', p, () => {
          const buf = Buffer.alloc(patched.length + 10);
          const n = fs.pread(fd, buf, 0, buf.length, 0);
          if (!legal(p, buf.subarray(0, n))) wrong.push(`pread ${p}: ${n} bytes, not what was written`);
        });
        attempt('close', p, () => fs.close(fd));
      }
    }
    const before = model.get(p)!;
    if (attempt('rename', p, () => fs.rename(p, q))) {
      model.set(q, before);
      model.set(p, [null]);
    } else {
      widen(q, before);
      widen(p, [null]);
    }
    if (round % 3 === 2) {
      const old = `/c/g${round - 2}`;
      if (attempt('unlink', old, () => fs.unlink(old))) model.set(old, [null]);
      else widen(old, [null]);
    }
    await pipelined(`/c/p${round}`, round);
    Atomics.store(words, ROUNDS, round + 1);
  }
  attempt('pread', '/held', () => {
    const buf = Buffer.alloc(HELD.length + 10);
    const n = fs.pread(held, buf, 0, buf.length, 0);
    if (!Buffer.from(HELD).equals(buf.subarray(0, n))) wrong.push(`pread /held: ${n} bytes, not what it held`);
  });
  attempt('close', '/held', () => fs.close(held));
  const report: ClientReport = { threadId, owner: fs.ownerId, rounds: round, failures, wrong, model: [...model] };
  fs.detach();
  parentPort!.postMessage(report);
  parentPort!.on('message', () => {
    const fresh: NrFs = connectFs(input.handle, { node: input.node! });
    fresh.writeFile('/again', 'after');
    const back = fresh.readFile('/again', 'utf8');
    fresh.detach();
    parentPort!.postMessage({ again: back });
  });
}
