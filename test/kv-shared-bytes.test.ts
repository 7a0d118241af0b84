/**
 * Region by region (docs/kv.md, "What shared memory holds and who checks
 * it"), attacks on bytes the other kv suites do not edit: every word of the
 * store header's parameter lines before attach, a record's op-length and
 * entry payload-length fields, and a client request's length word edited
 * after its node validated it. Plus the API's own bad input (a handle or
 * options of the wrong shape): a typed error, nothing written.
 */
import { describe, expect, it } from 'vitest';
import { attachKv, createKv, FailStopError, KvConfigError, KvTypeError, WrongKeyError, type KvHandle, type KvStore } from '../src/kv/index.js';
import { H_BUMP } from '../src/kv/arena.js';
import { CLIENT_TAIL, SharedContext } from '../src/nr/clients/context.js';
import { headerOf, records, ring } from './support/kv-log.js';
import { spawnKvWorker } from './support/kv-calls.js';
import { cleanedAfterEach } from './support/kv-fixtures.js';

const KEY = new Uint8Array(32).fill(13);
const WRONG = new Uint8Array(32).fill(14);
const SECRET = 'SHARED-BYTES-SECRET-VALUE';
const { stores, workers } = cleanedAfterEach();

function small(log: object = {}): KvHandle {
  return createKv({ key: KEY, arenaBytes: 1 << 16, log: { logBytes: 1 << 14, transferMaxBytes: 1 << 20, ...log } });
}

function open(h: KvHandle): KvStore {
  const s = attachKv(h, { key: KEY });
  stores.push(s);
  return s;
}

describe('the store header', () => {
  it('every word of its parameter lines set to 0 and to 0xffffffff before attach: KvConfigError (magic, format) or a store that works unchanged', () => {
    for (let word = 0; word < H_BUMP / 4; word++) {
      for (const v of [0, 0xffffffff]) {
        const h = small();
        const view = new DataView(h.header);
        if (view.getUint32(word * 4, true) === v) continue; // no change to make
        view.setUint32(word * 4, v, true);
        const what = `header word ${word} = ${v}`;
        if (word <= 1) {
          expect(() => attachKv(h, { key: KEY }), what).toThrow(KvConfigError);
          continue;
        }
        expect(() => attachKv(h, { key: WRONG }), what).toThrow(WrongKeyError);
        const s = attachKv(h, { key: KEY });
        expect(s.encrypted, what).toBe(true);
        s.put('k', SECRET);
        expect(s.getString('k'), what).toBe(SECRET);
        expect(Buffer.from(h.arena).indexOf(SECRET), what).toBe(-1);
        expect(Buffer.from(h.nr.memory.buffer).indexOf(SECRET), what).toBe(-1);
        s.detach();
      }
    }
  });
});

describe('record framing', () => {
  it('an op length pointing past its entry, or cutting the record short, and an entry payload length changed: every replica that reads it fails stop; the issuer goes on', () => {
    const edits: [string, (h: KvHandle) => void][] = [
      ['op length + 32 (past the entry)', (h) => bumpOpLength(h, 32)],
      ['op length + 4096', (h) => bumpOpLength(h, 4096)],
      ['op length - 4 (record cut short)', (h) => bumpOpLength(h, -4)],
      ['op length 0', (h) => setOpLength(h, 0)],
      ['entry payload bytes + 64', (h) => bumpPayloadBytes(h, 64)],
      ['entry payload bytes - 8', (h) => bumpPayloadBytes(h, -8)],
    ];
    for (const [name, edit] of edits) {
      const h = createKv({ key: KEY, arenaBytes: 1 << 16, log: { logBytes: 1 << 14, replicas: 2, transferMaxBytes: 1 << 20 } });
      const [a, b] = [open(h), open(h)];
      a.put('x', 'first');
      a.put('y', 'second');
      edit(h);
      let got: unknown;
      try {
        got = { value: b.getString('y') };
      } catch (e) {
        got = e;
      }
      expect(got, name).toBeInstanceOf(FailStopError);
      expect(() => b.getString('x'), name).toThrow(FailStopError);
      expect(a.getString('y'), name).toBe('second');
    }
  });
});

/** The op header of the second record: u32 `opId << 24 | byteLength`, just before the record's bytes. */
function opHeader(h: KvHandle): { data: DataView; at: number } {
  const rec = records(h)[1]!;
  const data = ring(h);
  return { data: new DataView(data.buffer, data.byteOffset, data.byteLength), at: rec.at - 4 };
}
function bumpOpLength(h: KvHandle, delta: number): void {
  const { data, at } = opHeader(h);
  const word = data.getUint32(at, true);
  data.setUint32(at, (word & 0xff000000) | ((word & 0xffffff) + delta), true);
}
function bumpPayloadBytes(h: KvHandle, delta: number): void {
  const words = headerOf(h, records(h)[1]!);
  words[3] = words[3]! + delta;
}
function setOpLength(h: KvHandle, n: number): void {
  const { data, at } = opHeader(h);
  data.setUint32(at, (data.getUint32(at, true) & 0xff000000) | n, true);
}

describe('a client request', () => {
  it("its length word cut after the node validated it (between gather and apply) changes nothing: the node reads what it validated, the client gets the right value", async () => {
    const h = createKv({ key: KEY, arenaBytes: 1 << 16, log: { logBytes: 1 << 16, clients: 1 } });
    const ctx = new SharedContext(h.nr.context!);
    const base = ctx.clientAt(0, 0);
    let edited = 0;
    // Runs on this (the node's) thread after the node reserved its entry: the client's read is gathered by then.
    const afterReserve = (): void => {
      const seq = (Atomics.load(ctx.words, base + CLIENT_TAIL) - 1) | 0;
      const at = ctx.slotAt(base, seq);
      if (ctx.words[at] !== 1 || ctx.words[at + 2]! <= 4) return; // not a read request (or done already)
      ctx.words[at + 2] = 4;
      edited++;
    };
    const node = attachKv(h, { key: KEY, replica: { testHooks: { afterReserve } } });
    stores.push(node);
    node.put('k', SECRET);
    const client = spawnKvWorker(workers, { mode: 'client', handle: h, key: KEY, connect: { node: node.replica.id, timeoutMs: 20_000 } });
    expect((await client.first).attachError).toBeUndefined();
    const tail0 = Atomics.load(ctx.words, base + CLIENT_TAIL);
    const reply = client.call('getString', 'k');
    // Block this thread (its event loop would serve the read alone) until the client has sent it.
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + 10_000;
    while (Atomics.load(ctx.words, base + CLIENT_TAIL) === tail0) {
      if (Date.now() > deadline) throw new Error('the client sent no request');
      Atomics.wait(sleeper, 0, 0, 1);
    }
    node.put('other', 'x'); // one commit: the client's read rides in this entry's batch, after the reservation
    expect(edited).toBe(1);
    expect(await reply).toMatchObject({ ok: true, value: SECRET });
  });
});

describe('bad input at the API', () => {
  it('a handle of the wrong shape, unknown or conflicting createKv options: typed errors', () => {
    const h = small();
    for (const bad of [{ ...h, header: 5 }, { ...h, header: new ArrayBuffer(4096) }, { ...h, arena: new Uint8Array(8) }, { ...h, kdf: 'scrypt' }]) {
      expect(() => attachKv(bad as unknown as KvHandle, { key: KEY })).toThrow(KvConfigError);
    }
    expect(() => createKv({ key: KEY, encrypted: false } as never)).toThrow(KvConfigError);
    expect(() => createKv({ key: KEY, encrypt: 'no' } as never)).toThrow(KvConfigError);
    expect(() => createKv({ key: KEY, passphrase: 'pw' })).toThrow(KvTypeError);
    expect(() => createKv(null as never)).toThrow(KvConfigError);
    // `log` null, a number or an array was taken as the defaults (null) or reached createHandle untyped.
    for (const log of [0, 'x', []]) expect(() => createKv({ key: KEY, log: log as never })).toThrow(/^createKv log: must be an object of createHandle options/);
    // null, as for every option of every module: refused as null, not taken for the default.
    expect(() => createKv({ key: KEY, log: null as never })).toThrow(/^createKv: option 'log' is null/);
  });

  it('keys are their UTF-8 bytes: NFC and NFD stay two keys, a string and its bytes are one, astral, NUL and U+FFFF keys round-trip and scan in byte order; lone surrogates are refused in keys and values', () => {
    const s = open(small());
    const nfc = 'caf\u00e9';
    const nfd = 'cafe\u0301';
    s.put(nfc, 'composed');
    s.put(nfd, 'decomposed');
    expect(s.getString(nfc)).toBe('composed');
    expect(s.getString(nfd)).toBe('decomposed');
    expect(s.getString(Buffer.from(nfc, 'utf8'))).toBe('composed');
    for (const k of ['\u{1F600}', 'a\0b', '\uFFFF', 'caf\u00e9\u{10FFFF}']) {
      s.put(k, `v:${k}`);
      expect(s.getString(k)).toBe(`v:${k}`);
    }
    const keys = s.scan({ prefix: 'caf' }).map((e) => e.key.toString('utf8'));
    expect(keys).toEqual([nfd, nfc, 'caf\u00e9\u{10FFFF}'].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    expect(() => s.put('a\uDBFF', 'x')).toThrow(KvTypeError);
    expect(() => s.put('ok', 'lone \uDC00')).toThrow(KvTypeError);
    expect(() => s.scan({ prefix: '\uD800' })).toThrow(KvTypeError);
    expect(s.has('a\uFFFD')).toBe(false);
  });
});
