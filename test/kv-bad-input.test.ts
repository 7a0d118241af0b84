/**
 * Bad input at the KV call sites that kv-api and options-null do not reach:
 * ambiguous or conflicting secrets and options, arrays where an options
 * object belongs, a scan option given as null. Each is a typed error at the
 * call site, nothing is written, and a worker using the same store at the
 * same time is unaffected (its ops before and after agree with a model).
 */
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { attachKv, connectKv, createKv, KvConfigError, KvTypeError, type KvStore } from '../src/kv/index.js';
import { spawnKvWorker } from './support/kv-calls.js';

const KEY = new Uint8Array(32).fill(6);
const cheap = { opsLimit: 1, memLimit: 8192 };
const workers: Worker[] = [];
const stores: KvStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) s.detach();
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

describe('kv bad input', () => {
  it('createKv: a secret with encrypt: false, a pwhash cost for a raw key, an array of options: KvConfigError', () => {
    expect(() => createKv({ encrypt: false, key: KEY })).toThrow(KvConfigError);
    expect(() => createKv({ encrypt: false, key: KEY })).toThrow(/plaintext store .* takes no key or passphrase/);
    expect(() => createKv({ encrypt: false, passphrase: 'pw' })).toThrow(KvConfigError);
    expect(() => createKv({ key: KEY, pwhash: cheap })).toThrow(KvConfigError);
    expect(() => createKv({ key: KEY, pwhash: cheap })).toThrow(/pwhash .* passphrase/);
    expect(() => createKv([] as never)).toThrow(KvConfigError);
    // What stays valid.
    expect(createKv({ encrypt: false }).encrypted).toBe(false);
    expect(createKv({ passphrase: 'pw', pwhash: cheap }).kdf).toBe('passphrase');
  });

  it('attachKv and connectKv: key and passphrase together (KvTypeError, as at createKv), an array of options (KvConfigError); nothing attached', () => {
    const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, clients: 1 } });
    const hp = createKv({ passphrase: 'pw', pwhash: cheap, arenaBytes: 1 << 20, log: { logBytes: 1 << 16 } });
    for (const handle of [h, hp]) {
      expect(() => attachKv(handle, { key: KEY, passphrase: 'pw' })).toThrow(KvTypeError);
      expect(() => attachKv(handle, { key: KEY, passphrase: 'pw' })).toThrow(/not both/);
      expect(() => attachKv(handle, [] as never)).toThrow(KvConfigError);
    }
    expect(() => connectKv(h, { key: KEY, passphrase: 'pw' })).toThrow(KvTypeError);
    expect(() => connectKv(h, [] as never)).toThrow(KvConfigError);
    // No replica slot and no client slot was taken: both still attach.
    const s = attachKv(h, { key: KEY });
    stores.push(s);
    const c = connectKv(h, { key: KEY });
    c.close();
    expect(s.stats().replica.replica).toBe(0);
  });

  it('scan: an option given as null, or an array for the options: KvTypeError on stores and clients; a worker writing meanwhile is unaffected', async () => {
    const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, clients: 1 } });
    const s = attachKv(h, { key: KEY });
    stores.push(s);
    const w = spawnKvWorker(workers, { mode: 'serve', handle: h, key: KEY });
    expect((await w.first).ready).toBe(true);
    for (let i = 0; i < 5; i++) expect((await w.call('put', `w${i}`, `value ${i}`)).ok).toBe(true);
    const c = connectKv(h, { key: KEY });
    const bad = [{ limit: null }, { start: 'a', limit: null }, { prefix: 'w', end: null }, []];
    const writes = Promise.all(Array.from({ length: 20 }, (_, i) => w.call('put', `w${i % 5}`, `later ${i}`)));
    for (const o of bad) {
      expect(() => s.scan(o as never), JSON.stringify(o)).toThrow(KvTypeError);
      await expect(s.scanAsync(o as never)).rejects.toBeInstanceOf(KvTypeError);
      expect(() => c.scan(o as never), JSON.stringify(o)).toThrow(KvTypeError);
      await expect(c.scanAsync(o as never)).rejects.toBeInstanceOf(KvTypeError);
    }
    expect(() => s.scan({ limit: null } as never)).toThrow("scan option 'limit' is null");
    for (const r of await writes) expect(r.ok).toBe(true);
    s.sync();
    expect(s.scan({ prefix: 'w' }).map((e) => [e.key.toString(), e.value.toString()])).toEqual(
      Array.from({ length: 5 }, (_, i) => [`w${i}`, `later ${15 + i}`]),
    );
    c.close();
  });
});
