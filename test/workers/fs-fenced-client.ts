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
 *   word ROUNDS. Each round: writeFile, readFile, an fd's partial pwrite and
 *   pread, rename, and every third round an unlink. Every answer is checked
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
import { clientBytes, overlay, PATCH, PATCH_AT, MAX_ROUNDS, ROUNDS, STOP } from '../support/fs-fenced-files.js';

type Input = { handle: NrFsHandle; mode: 'node' | 'client'; node?: number; control?: SharedArrayBuffer; timeoutMs?: number };
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
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, m.block);
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
        if (failures.length < 200) failures.push({ op, path, cls: e.constructor.name, committed: e.committed });
      } else wrong.push(`${op} ${path}: ${(e as Error).constructor.name} ${String((e as { code?: string }).code)} ${(e as Error).message}`);
      return false;
    }
  };
  let round = 0;
  for (; round < MAX_ROUNDS && Atomics.load(words, STOP) === 0; round++) {
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
    Atomics.store(words, ROUNDS, round + 1);
  }
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
