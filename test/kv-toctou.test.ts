/**
 * Time-of-check-to-time-of-use on shared bytes: an attacker thread flips a
 * byte of a value's arena block and flips it back, over and over, while
 * readers verify and open it (a replica holder, and a KV client that opens
 * blocks in its own thread). Every shared byte is read once, into private
 * memory, before it is checked: so every read returns exactly the value
 * written or IntegrityError naming the key, never bytes the check did not
 * cover. Both outcomes are seen (the flipper really races the reads), and
 * other keys are never affected. Bounded: at most 20 000 reads or 10 s.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { attachKv, connectKv, createKv, IntegrityError, type KvClient, type KvStore } from '../src/kv/index.js';
import { workerPath } from './support/spawn.js';
import { spawnKvWorker } from './support/kv-calls.js';

const KEY = new Uint8Array(32).fill(2);
const VALUE = 'the value as written, 64 bytes long, checked byte for byte.....';
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

/** Start flipping `offsets` of `buffer`; stop() ends it and resolves with the flip count. */
async function flipper(buffer: SharedArrayBuffer, offsets: number[]): Promise<{ stop: () => Promise<number> }> {
  const stopBuf = new SharedArrayBuffer(4);
  const w = new Worker(workerPath('byte-flipper'), { workerData: { buffer, offsets, stop: stopBuf, holdSpins: 200 } });
  workers.push(w);
  const messages: { flips?: number }[] = [];
  let wake: (() => void) | null = null;
  w.on('message', (m: { flips?: number }) => {
    messages.push(m);
    wake?.();
  });
  const next = async (): Promise<{ flips?: number }> => {
    while (messages.length === 0) await new Promise<void>((r) => (wake = r));
    return messages.shift()!;
  };
  await next(); // started
  return {
    stop: async () => {
      Atomics.store(new Int32Array(stopBuf), 0, 1);
      return (await next()).flips!;
    },
  };
}

/** Read until both outcomes were seen (or the bounds): every result is VALUE or IntegrityError naming the key. */
async function race(read: () => Promise<Buffer | undefined>, key: string): Promise<{ ok: number; failed: number }> {
  let ok = 0;
  let failed = 0;
  const deadline = Date.now() + 10_000;
  for (let i = 0; i < 20_000 && Date.now() < deadline && (ok < 50 || failed < 50); i++) {
    try {
      const v = await read();
      expect(v?.toString()).toBe(VALUE);
      ok++;
    } catch (e) {
      expect(e).toBeInstanceOf(IntegrityError);
      expect((e as IntegrityError).key).toBe(key);
      failed++;
    }
  }
  return { ok, failed };
}

describe('a byte of an arena block flipped and flipped back while it is read', () => {
  // Offsets within the stored block: nonce, ciphertext (first and last byte), stored tag.
  const parts = { nonce: 3, 'ciphertext start': 24, 'ciphertext end': 24 + 63, 'stored tag': 24 + 64 + 5 };
  for (const [part, at] of Object.entries(parts)) {
    it(`(${part}): a replica's get returns the value or IntegrityError, never other bytes; the flipper's last flip back restores it`, async () => {
      const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16 } });
      const s: KvStore = attachKv(h, { key: KEY });
      s.put('target', VALUE);
      s.put('bystander', VALUE);
      const loc = s.locate('target')!.loc;
      const f = await flipper(h.arena, [loc + at]);
      const seen = await race(async () => s.get('target'), 'target');
      const flips = await f.stop();
      expect(flips).toBeGreaterThan(0);
      expect(seen.ok + seen.failed).toBeGreaterThan(0);
      // Within 10 s both happen on any machine the flipper gets a core on; never anything else.
      expect(seen.failed).toBeGreaterThan(0);
      expect(seen.ok).toBeGreaterThan(0);
      expect(s.getString('target')).toBe(VALUE);
      expect(s.getString('bystander')).toBe(VALUE);
      s.detach();
    }, 30_000);
  }

  it("a KV client's get (it opens the block in its own thread) returns the value or IntegrityError, never other bytes", async () => {
    const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, clients: 1 } });
    const node = spawnKvWorker(workers, { mode: 'serve', handle: h, key: KEY });
    const { slot } = await node.first;
    expect((await node.call('put', 'target', VALUE)).ok).toBe(true);
    const meta = (await node.call('locate', 'target')).value as { loc: number };
    const c: KvClient = connectKv(h, { key: KEY, client: { node: slot!, timeoutMs: 5000 } });
    const f = await flipper(h.arena, [meta.loc + 24 + 10]);
    // A client asks again when a value fails to open; the same version failing twice is reported.
    const seen = await race(() => c.getAsync('target'), 'target');
    await f.stop();
    expect(seen.ok).toBeGreaterThan(0);
    expect(c.getString('target')).toBe(VALUE);
    c.close();
  }, 30_000);
});
