/**
 * Forks: the attacker shows two replicas the same authentic records in
 * different orders. Two writers' records that neither writer knew of
 * (concurrent: each one's known point precedes the other) pass every
 * per-record check in either order, so swapping them under one replica
 * after the others have read them gives that replica a different state at
 * the same chain count. The chain heads differ, and that is what must stop
 * it: a replica (or a client of its node) that learns an authentic head
 * for a count it has already passed, or a snapshot whose chain does not
 * extend its own, must fail stop, never serve its side of the fork as
 * current (a put that "did not happen" on one side, a rollback of a key
 * nobody wrote, on the other).
 *
 * Replicas in this thread are driven op by op: `sync()` replays without
 * polling the freshness mesh, so a replica can pass the swapped records
 * before it learns any head, which is what a busy replica in its own worker
 * does when announcements arrive late.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { attachKv, createKv, FailStopError, kvPeers, type KvAttachOptions, type KvHandle, type KvPeer, type KvStore } from '../src/kv/index.js';
import { type LoggedRecord, logWords, records, ring, TAIL } from './support/kv-log.js';
import { spawnKvWorker } from './support/kv-calls.js';
import { cleanedAfterEach, thrownBy } from './support/kv-fixtures.js';

const KEY = new Uint8Array(32).fill(11);
const { stores, workers } = cleanedAfterEach();

function open(h: KvHandle, options: KvAttachOptions): KvStore {
  const s = attachKv(h, { key: KEY, ...options });
  stores.push(s);
  return s;
}

/** `n` replicas in this thread (announcing and polling on every op) and `clients` more ends of the mesh. */
function cluster(n: number, clients = 0): { h: KvHandle; r: KvStore[]; peers: KvPeer[] } {
  const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, replicas: n, ...(clients > 0 ? { clients } : {}) } });
  const peers = kvPeers(n + clients);
  return { h, r: peers.slice(0, n).map((peer) => open(h, { peer, staleMs: 150, announceMs: 0 })), peers: peers.slice(n) };
}

const failStopOf = (f: () => unknown): FailStopError => thrownBy(FailStopError, f);

/** Swap two records of equal length in the log ring. */
function swap(h: KvHandle, a: LoggedRecord, b: LoggedRecord): void {
  expect(a.len).toBe(b.len);
  const data = ring(h);
  const keep = data.slice(a.at, a.at + a.len);
  data.copyWithin(a.at, b.at, b.at + b.len);
  data.set(keep, b.at);
}

/**
 * r[0] and r[1] each put `key` once, neither having applied the other's
 * record first; then the two records are swapped and r[forked] replays
 * them in the other order. r[1] applied both in log order before the swap.
 */
function fork(h: KvHandle, r: KvStore[], forked: number, key = 'k'): void {
  r[0]!.put(key, 'from-0');
  r[1]!.put(key, 'from-1'); // replays r[0]'s record, then applies its own: k = from-1
  const [a, b] = records(h);
  swap(h, a!, b!);
  r[forked]!.sync(); // applies r[1]'s record, then r[0]'s: k = from-0, at the same count
}

type Internals = { state: unknown; ltail: number; structure: { snapshot(s: unknown): Uint8Array; restore(b: Uint8Array): unknown } };
const internals = (s: KvStore): Internals => s.replica as unknown as Internals;

/** Install `snap` in `s` as a state transfer would, at the log's tail (the position the attacker hands over). */
function handOver(h: KvHandle, s: KvStore, snap: Uint8Array): { failure: string | null } {
  const x = internals(s);
  x.state = x.structure.restore(snap);
  x.ltail = Atomics.load(logWords(h), TAIL);
  return x.state as { failure: string | null };
}

describe('a forked log', () => {
  it('a replica that passed two swapped concurrent records fail-stops when it learns a peer\'s head for them, never serves its order', () => {
    const { h, r } = cluster(3);
    fork(h, r, 2);
    expect(r[1]!.getString('k')).toBe('from-1');
    expect(r[2]!.stats().chainCount).toBe(2); // the same count as r[1], another state
    const e = failStopOf(() => r[2]!.getString('k'));
    expect(e.message).toMatch(/chain head at record 1 differs from the one a peer announced: the log was forked/);
    expect(() => r[2]!.has('k')).toThrow(FailStopError);
    expect(() => r[2]!.put('x', '1')).toThrow(FailStopError);
    expect(r[1]!.getString('k')).toBe('from-1'); // the unforked side serves on
  });

  it('two authentic announcements that disagree on one count stop the replica that hears both', () => {
    const { r } = cluster(2);
    r[0]!.put('k', 'v');
    type Fresh = { ports: MessagePort[]; macOf(count: number, head: string): Buffer };
    const fresh = (s: KvStore): Fresh => (s as unknown as { fresh: Fresh }).fresh;
    const { port1, port2 } = new MessageChannel();
    fresh(r[1]!).ports.push(port1);
    // Two peers on the two sides of a fork announce their (authentic) heads for record 5.
    for (const head of ['A'.repeat(16), 'B'.repeat(16)]) port2.postMessage({ count: 5, head, mac: fresh(r[0]!).macOf(5, head).toString('latin1') });
    expect(failStopOf(() => r[1]!.get('k')).message).toMatch(/two different authentic chain heads for record 5: the log was forked/);
    port1.close();
  });

  it("a snapshot of a forked replica is refused by a replica on the other side (ahead, but not on its chain); a joiner that takes it stops at the first head it learns", () => {
    const { h, r } = cluster(4);
    fork(h, r, 2);
    expect(r[1]!.stats().chainCount).toBe(2); // r[1] holds k = from-1 at record 2
    r[2]!.put('y', 'after'); // the forked replica moves on: its state is now ahead of r[1]'s, on its own chain
    const snap = internals(r[2]!).structure.snapshot(internals(r[2]!).state);
    // r[1] is handed the forked snapshot, as current (at the log's tail, so it never reads record 3 itself).
    expect(handOver(h, r[1]!, snap).failure).toMatch(/its chain does not extend the one this replica had applied \(their heads at record 2 differ\): a forked state/);
    expect(failStopOf(() => r[1]!.getString('k')).message).toMatch(/a forked state/);
    // A joiner has no chain to compare: it takes the snapshot, but the heads it carries let the joiner
    // check the announcements it learns for the records before it (r[0]'s for record 1).
    expect(handOver(h, r[3]!, snap).failure).toBeNull();
    expect(failStopOf(() => r[3]!.getString('k')).message).toMatch(/chain head at record 1 differs from the one a peer announced/);
  });

  it('an authentic snapshot on the receiver\'s own chain is still taken (a lagging replica, a joiner)', () => {
    const { h, r } = cluster(3);
    r[0]!.put('a', '1');
    expect(r[1]!.getString('a')).toBe('1'); // r[1] applied record 1
    r[0]!.put('a', '2');
    r[0]!.put('b', '3');
    const snap = internals(r[0]!).structure.snapshot(internals(r[0]!).state);
    for (const s of [r[1]!, r[2]!]) {
      expect(handOver(h, s, snap).failure).toBeNull();
      expect(s.getString('a')).toBe('2');
      expect(s.getString('b')).toBe('3');
    }
  });

  it('a KV client of a forked node refuses its answers (FailStopError), single gets and windows alike; the client stays stopped', async () => {
    const { h, r, peers } = cluster(3, 2);
    fork(h, r, 2);
    const spawn = (peer: KvPeer) => spawnKvWorker(workers, { mode: 'client', handle: h, key: KEY, peer, staleMs: 200, connect: { node: r[2]!.replica.id, timeoutMs: 20_000 } }, peer.transferList);
    const clients = [spawn(peers[0]!), spawn(peers[1]!)];
    for (const c of clients) expect((await c.first).attachError).toBeUndefined();
    // Wait (bounded) until each client has learned r[1]'s announcement for record 2.
    for (const c of clients) {
      const deadline = Date.now() + 10_000;
      while ((await c.call('learned')).value !== 2) {
        if (Date.now() > deadline) throw new Error('the client never learned the announced head');
        await new Promise((res) => setTimeout(res, 5));
      }
    }
    const single = await clients[0]!.call('getString', 'k');
    expect(single).toMatchObject({ ok: false, error: { name: 'FailStopError' } });
    expect(single.error!.message).toMatch(/KV client fail-stopped: two different authentic chain heads for record 2: the log was forked/);
    expect(await clients[0]!.call('getString', 'other')).toMatchObject({ ok: false, error: { name: 'FailStopError' } });
    expect(await clients[0]!.call('put', 'z', '1')).toMatchObject({ ok: false, error: { name: 'FailStopError' } });
    const window = await clients[1]!.call('asyncOps', [['getAsync', 'k'], ['getAsync', 'other']]);
    expect(window.value).toEqual([
      { ok: false, error: expect.objectContaining({ name: 'FailStopError' }) },
      { ok: false, error: expect.objectContaining({ name: 'FailStopError' }) },
    ]);
    expect(r[1]!.getString('k')).toBe('from-1');
  });
});
