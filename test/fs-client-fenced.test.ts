/**
 * An NrFS client (connectFs, no replica) whose node is fenced and recovers.
 * The node's thread stalls (no replay, no heartbeat, no serving) while a
 * replica overwrites one file past the page pool, so it has to fence the
 * node after fenceAfterMs and take its pages back; the node then wakes and
 * recovers by state transfer. Meanwhile the client runs rounds of
 * writeFile / readFile / pwrite / pread / rename / unlink, every answer
 * checked against what node:fs would give.
 *
 * - A stall shorter than deadAfterMs: the client only waits; no op fails,
 *   every answer is node:fs's, and it goes on after the recovery.
 * - A stall longer than deadAfterMs: the client sees its node fenced and
 *   silent and fails for good (docs/nr.md, "Clients: epochs and
 *   outcomes"): NodeGoneError, `committed: 'unknown'` only for ops it had
 *   sent, `false` for every later op; never a wrong answer, never a hang;
 *   a fresh client of the recovered node works.
 *
 * Both: the survivors' tree holds, byte for byte, what the client's model
 * allows; once every replica has synced, the pool holds LIVE exactly the
 * pages the files need, nothing RETIRING, nothing under the client's id.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { attachFs, createFs, type NrFs } from '../src/fs/index.js';
import { CONTROL_BYTES, FAILED, GO, HELD, MAX_ROUNDS, PAUSE_ROUND, PAUSED, type PausePoint, PIPE_PAGES, RELEASE, ROUNDS, STOP } from './support/fs-fenced-files.js';
import { poolCensus } from './support/pool-census.js';
import { workerPath } from './support/spawn.js';
import { message, until } from './support/worker-message.js';
import type { ClientReport } from './workers/fs-fenced-client.js';

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

function spawn(data: object): Worker {
  const w = new Worker(workerPath('fs-fenced-client'), { workerData: data });
  workers.push(w);
  return w;
}

/** Keeps `fs` replaying (it serves the state transfer a recovering replica asks for) until `p` settles; bounded by p's own timeout. */
async function pumping<T>(fs: NrFs, p: Promise<T>): Promise<T> {
  let settled = false;
  void p.then(() => (settled = true), () => (settled = true));
  while (!settled) {
    fs.replica.sync();
    await new Promise((r) => setTimeout(r, 1));
  }
  return p;
}

/** Pages the files under `dir` fill (none has holes but the pipelined ones, whose holes are counted as the pool holds them: not at all). */
function filePages(fs: NrFs, dir: string): number {
  let pages = 0;
  for (const name of fs.readdir(dir)) {
    const data = fs.readFile(`${dir}/${name}`);
    for (let at = 0; at < data.length; at += 4096) if (name.startsWith('p') ? data.subarray(at, at + 4096).some((x) => x !== 0) : true) pages++;
  }
  return pages;
}

/**
 * How the stalled node is made to lag: 'pool' — 3000 overwrites of one page, past the pool (256 pages of capacity, a
 * pool of 1280), need its retired pages back; 'log' — 4000 chmods, past a 64 KiB log, need the log space it holds.
 */
type Fill = 'pool' | 'log';

/**
 * `stall`: 'short' — deadAfterMs is 20 s and the node is released as soon as it is fenced; 'long' — deadAfterMs is
 * 200 ms and the node is released only once its client has failed.
 */
async function fencedClientRun(stall: 'short' | 'long', fill: Fill, pauseAt: PausePoint): Promise<{ report: ClientReport; main: NrFs; client: Worker; roundsAtWake: number }> {
  const deadAfterMs = stall === 'short' ? 20_000 : 200;
  const h = createFs({ replicas: 2, maxReplicas: 3, clients: 1, capacityBytes: 1 << 20, logBytes: fill === 'log' ? 1 << 16 : 1 << 20, fenceAfterMs: 150, deadAfterMs });
  const main = attachFs(h);
  main.mkdir('/c');
  main.writeFile('/f', Buffer.alloc(4096, 1));
  main.writeFile('/held', HELD);
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const words = new Int32Array(control);
  const node = spawn({ handle: h, mode: 'node', control });
  const { slot } = await message<{ slot: number }>(node);
  const client = spawn({ handle: h, mode: 'client', node: slot, control, timeoutMs: 10_000, pauseAt });
  const reported = message<ClientReport>(client, 60_000);
  await pumping(main, until(() => Atomics.load(words, PAUSED) === 1, 'the client to pause before its op'));

  const blocked = message<{ blocked: boolean }>(node);
  node.postMessage({ block: 30_000 });
  await blocked;
  // The op the client paused before now goes out to a node that cannot serve it.
  Atomics.store(words, GO, 1);
  Atomics.notify(words, GO);
  const woke = message<{ woke: boolean; status: string; transfers: number; size: number }>(node, 40_000); // sent once released
  main.unlink('/held'); // held by the client's fd: an orphan, readable through it until its close
  const fd = main.open('/f', 'r+');
  const t0 = performance.now();
  if (fill === 'pool') for (let i = 0; i < 3000; i++) main.pwrite(fd, Buffer.alloc(4096, 2 + (i % 200)), 0, 4096, 0);
  else for (let i = 0; i < 4000; i++) main.fchmod(fd, i % 2 === 0 ? 0o600 : 0o644);
  main.close(fd);
  const ms = performance.now() - t0;
  expect(main.replica.stats().fences).toBe(1);
  expect(ms).toBeLessThan(4_000); // fenced after 150 ms, well before the writers' 5 s POOL_WAIT_MS (ENOSPC) or the log's bound
  if (stall === 'long') await pumping(main, until(() => Atomics.load(words, FAILED) === 1, 'the client to see its node gone'));
  Atomics.store(words, RELEASE, 1);
  Atomics.notify(words, RELEASE);
  const w = await pumping(main, woke);
  expect(w).toEqual({ woke: true, status: 'live', transfers: 1, size: 4096 });
  const roundsAtWake = Atomics.load(words, ROUNDS);
  // The client goes on (or fails fast, for good): let it run 30 more rounds (or to its last), then stop it.
  await pumping(main, until(() => Atomics.load(words, ROUNDS) >= Math.min(MAX_ROUNDS, roundsAtWake + 30), 'the client\'s rounds after the recovery'));
  Atomics.store(words, STOP, 1);
  const report = await pumping(main, reported);

  // Every replica synced, the node's clients swept (a client left DEAD with doubtful pages), the displaced pages freed.
  main.releaseClients();
  const settled = message<{ cached: number }>(node);
  node.postMessage('settle');
  const { cached: nodeCached } = await pumping(main, settled);
  main.replica.sync();
  main.reclaimPages();
  const census = poolCensus(h);
  expect(census.retiring).toBe(0);
  expect(census.live).toBe(main.usage().pages);
  expect(census.taken[report.owner] ?? 0).toBe(0);
  expect(census.taken[slot] ?? 0).toBe(nodeCached);
  expect(Object.keys(census.taken).map(Number).every((o) => o === main.replica.id || o === slot)).toBe(true);

  // The tree: every path the client touched holds one of its model's contents, byte for byte.
  for (const [path, candidates] of report.model) {
    const actual = main.exists(path) ? main.readFile(path) : null;
    const ok = candidates.some((c) => (c === null ? actual === null : actual !== null && Buffer.from(c).equals(actual)));
    expect(ok, `${path}: ${actual === null ? 'absent' : `${actual.length} bytes`}, not one of the model's ${candidates.length}`).toBe(true);
  }
  expect(main.readdir('/c').length).toBeGreaterThan(0);
  // The orphan /held went with the client's fd (its close, or the sweep of its id): LIVE pages are exactly the files'.
  expect(main.exists('/held')).toBe(false);
  expect(main.usage().pages).toBe(filePages(main, '/c') + 1);
  return { report, main, client, roundsAtWake };
}

describe.each([
  ['pool', 'writeFile'],
  ['pool', 'pipelined'],
  ['log', 'writeFile'],
  ['log', 'pipelined'],
] as const)('an fs client whose node is fenced (it holds the %s back) with its %s in flight', (fill, pauseAt) => {
  it('fenced and back within deadAfterMs: the client waits, no op fails, every answer is node:fs\'s, and it goes on', async () => {
    const { report, main } = await fencedClientRun('short', fill, pauseAt);
    expect(report.wrong).toEqual([]);
    expect(report.failures).toEqual([]);
    // Every path's outcome is known: one candidate each (the ops sent to the stalled node were served after its recovery).
    expect(report.model.every(([, c]) => c.length === 1)).toBe(true);
    if (pauseAt === 'writeFile') expect(main.exists(`/c/g${PAUSE_ROUND}`)).toBe(true);
    else expect(main.stat(`/c/p${PAUSE_ROUND}`).size).toBe(PIPE_PAGES * 4096);
    main.detach();
  }, 60_000);

  it('fenced and silent past deadAfterMs: NodeGoneError (\'unknown\' for the ops in flight, false after), none of them ever takes effect, never a wrong answer; a fresh client works', async () => {
    const { report, main, client, roundsAtWake } = await fencedClientRun('long', fill, pauseAt);
    expect(report.wrong).toEqual([]);
    expect(report.failures.length).toBeGreaterThan(0);
    expect(report.failures.every((f) => f.cls === 'NodeGoneError')).toBe(true);
    // 'unknown' only for what was in flight when the client saw its node gone (a synchronous op, or a round's
    // pipelined ops), then every op did not and will not take effect.
    // The ops in flight are exactly the ones the client sent after the node stalled: its writeFile, or its round's
    // pipelined pairs (after their file's open).
    const inFlight =
      pauseAt === 'writeFile'
        ? [{ op: 'writeFile', path: `/c/f${PAUSE_ROUND}` }]
        : Array.from({ length: 2 * PIPE_PAGES }, (_, k) => ({ op: k % 2 === 0 ? 'pwriteAsync' : 'preadAsync', path: `/c/p${PAUSE_ROUND}` }));
    expect(report.failures.slice(0, inFlight.length)).toEqual(inFlight.map((f) => ({ ...f, cls: 'NodeGoneError', committed: 'unknown' })));
    expect(report.failures.slice(inFlight.length).every((f) => f.committed === false)).toBe(true);
    // Sent to a node that could not serve them before the client gave up on it, they had not taken effect then,
    // and "will not later": the node, recovered and serving again, did not run them.
    if (pauseAt === 'writeFile') expect(main.exists(`/c/f${PAUSE_ROUND}`) || main.exists(`/c/g${PAUSE_ROUND}`)).toBe(false);
    else expect(main.stat(`/c/p${PAUSE_ROUND}`).size).toBe(0);
    expect(report.rounds).toBeGreaterThanOrEqual(Math.min(MAX_ROUNDS, roundsAtWake + 30));
    const again = message<{ again: string }>(client);
    client.postMessage('again');
    expect(await pumping(main, again)).toEqual({ again: 'after' });
    expect(main.readFile('/again', 'utf8')).toBe('after');
    main.detach();
  }, 60_000);
});

describe('createFs({ deadAfterMs })', () => {
  it('is NR\'s bound, checked at the call: a bad value is an FsArgumentError, nothing created', () => {
    for (const v of [-1, 0, 0.5, 'x']) {
      expect(() => createFs({ deadAfterMs: v as number })).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: `createFs: deadAfterMs must be a positive integer, got ${v}` }));
    }
    const fs = attachFs(createFs({ deadAfterMs: 250 }));
    fs.writeFile('/x', 'y');
    expect(fs.readFile('/x', 'utf8')).toBe('y');
    fs.detach();
  });
});
