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
import { DEFAULTS } from '../src/nr/index.js';
import { MAX_ROUNDS, ROUNDS, STOP } from './support/fs-fenced-files.js';
import { poolCensus } from './support/pool-census.js';
import { workerPath } from './support/spawn.js';
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

function message<T>(w: Worker, timeoutMs = 20_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const fail = (e: Error): void => {
      clearTimeout(t);
      w.off('message', done);
      reject(e);
    };
    const done = (m: T): void => {
      clearTimeout(t);
      w.off('error', fail);
      resolve(m);
    };
    const t = setTimeout(() => fail(new Error('the worker did not answer in time')), timeoutMs);
    w.once('message', done);
    w.once('error', fail);
  });
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

async function until(f: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function fencedClientRun(stallMs: number): Promise<{ report: ClientReport; main: NrFs; client: Worker; roundsAtStall: number; roundsAtWake: number }> {
  // 256 pages of capacity (a pool of 1280): 3000 overwrites of one page need the stalled node's retired pages back.
  const h = createFs({ replicas: 2, maxReplicas: 3, clients: 1, capacityBytes: 1 << 20, logBytes: 1 << 20, fenceAfterMs: 150 });
  const main = attachFs(h);
  main.mkdir('/c');
  main.writeFile('/f', Buffer.alloc(4096, 1));
  const node = spawn({ handle: h, mode: 'node' });
  const { slot } = await message<{ slot: number }>(node);
  const control = new SharedArrayBuffer(128);
  const words = new Int32Array(control);
  const client = spawn({ handle: h, mode: 'client', node: slot, control, timeoutMs: 10_000 });
  const reported = message<ClientReport>(client, 60_000);
  await pumping(main, until(() => Atomics.load(words, ROUNDS) >= 10, 'the client\'s first rounds'));

  const blocked = message<{ blocked: boolean }>(node);
  node.postMessage({ block: stallMs });
  await blocked;
  const woke = message<{ woke: boolean; status: string; transfers: number; size: number }>(node, 30_000); // sent stallMs later
  const roundsAtStall = Atomics.load(words, ROUNDS);
  const fd = main.open('/f', 'r+');
  const t0 = performance.now();
  for (let i = 0; i < 3000; i++) main.pwrite(fd, Buffer.alloc(4096, 2 + (i % 200)), 0, 4096, 0);
  main.close(fd);
  const ms = performance.now() - t0;
  expect(main.replica.stats().fences).toBe(1);
  expect(ms).toBeLessThan(stallMs + 4_000);
  const w = await pumping(main, woke);
  expect(w).toEqual({ woke: true, status: 'live', transfers: 1, size: 4096 });
  const roundsAtWake = Atomics.load(words, ROUNDS);
  // The client goes on (or fails fast, for good): let it run 30 more rounds (or to its last), then stop it.
  await pumping(main, until(() => Atomics.load(words, ROUNDS) >= Math.min(MAX_ROUNDS, roundsAtWake + 30), 'the client\'s rounds after the recovery'));
  Atomics.store(words, STOP, 1);
  const report = await pumping(main, reported);

  // Every replica synced, the node's clients swept (a client left DEAD with doubtful pages), the displaced pages freed.
  const settled = message<{ cached: number }>(node);
  node.postMessage('settle');
  const { cached: nodeCached } = await pumping(main, settled);
  main.releaseClients();
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
  const live = main.readdir('/c').length;
  expect(live).toBeGreaterThan(0);
  return { report, main, client, roundsAtStall, roundsAtWake };
}

describe('an fs client whose node is fenced and recovers', () => {
  it(`a stall shorter than deadAfterMs (${DEFAULTS.deadAfterMs} ms): the client waits, no op fails, every answer is node:fs's, and it goes on`, async () => {
    const { report, main } = await fencedClientRun(500);
    expect(report.wrong).toEqual([]);
    expect(report.failures).toEqual([]);
    // Every path's outcome is known: one candidate each.
    expect(report.model.every(([, c]) => c.length === 1)).toBe(true);
    main.detach();
  }, 60_000);

  it(`a stall longer than deadAfterMs: NodeGoneError ('unknown' only for what was in flight, false after), never a wrong answer; a fresh client works`, async () => {
    const { report, main, client, roundsAtWake } = await fencedClientRun(DEFAULTS.deadAfterMs + 800);
    expect(report.wrong).toEqual([]);
    expect(report.failures.length).toBeGreaterThan(0);
    expect(report.failures.every((f) => f.cls === 'NodeGoneError')).toBe(true);
    // At most the op in flight at the stall is 'unknown'; every later op did not and will not take effect.
    expect(report.failures.filter((f) => f.committed === 'unknown').length).toBeLessThanOrEqual(1);
    expect(report.failures.slice(1).every((f) => f.committed === false)).toBe(true);
    expect(report.rounds).toBeGreaterThanOrEqual(Math.min(MAX_ROUNDS, roundsAtWake + 30));
    const again = message<{ again: string }>(client);
    client.postMessage('again');
    expect(await pumping(main, again)).toEqual({ again: 'after' });
    expect(main.readFile('/again', 'utf8')).toBe('after');
    main.detach();
  }, 60_000);
});
