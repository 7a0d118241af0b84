/**
 * A KV client's answers come back through shared client slots, which the
 * attacker can write. Here the test thread plays the attacker in place of
 * the node (no replica serves node 0): for each request the client sends,
 * it writes a forged response into the client's slot (a wrong sequence
 * number, a length out of range, a garbage status, an error report that
 * does not decode, an answer that does not authenticate) and publishes it.
 * The client must end each op with its exact typed error, never a value.
 *
 * A client's window (client-window.ts) adds two framings: a window of gets
 * (one sealed request, one MAC'd answer) and a window record (puts, deletes
 * and gets in one record, one MAC'd answer). For those the attacker also
 * holds what an honest node would answer (the test has the key and builds
 * the node's genuine answers), and then forges a byte, replays an old
 * answer, swaps two answers or truncates one.
 */
import { serialize } from 'node:v8';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createKv, type KvHandle } from '../src/kv/index.js';
import { answerGets, answerMac, GETS_LABEL, META_BYTES, REQUEST_NONCE_BYTES } from '../src/kv/answers.js';
import { Arena } from '../src/kv/arena.js';
import { Cipher } from '../src/kv/crypto.js';
import { GET, type LogRecord, PUT } from '../src/kv/record.js';
import { kvStructure } from '../src/kv/structure.js';
import { type Meta } from '../src/kv/enclave.js';
import { WRITE_LABEL, writeAnswerFields } from '../src/kv/client-answers.js';
import { OpReader } from '../src/nr/index.js';
import { CLIENT_DONE, CLIENT_TAIL, SharedContext, SLOT_HEADER_BYTES } from '../src/nr/clients/context.js';
import { type KvReply as Reply, type KvWorkerCalls, spawnKvWorker } from './support/kv-calls.js';

const KEY = new Uint8Array(32).fill(9);
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

/** The attacker's view of client `client` of node `node` (default 0, 0): wait for its next request, then answer it with whatever it likes. */
class Forger {
  private readonly ctx: SharedContext;
  private readonly base: number;
  private answered: number;
  constructor(h: KvHandle, node = 0, client = 0) {
    this.ctx = new SharedContext(h.nr.context!);
    this.base = this.ctx.clientAt(node, client);
    this.answered = Atomics.load(this.ctx.words, this.base + CLIENT_DONE);
  }

  get maxPayload(): number {
    return this.ctx.maxPayloadBytes;
  }

  /** The client's next request number. */
  get tail(): number {
    return Atomics.load(this.ctx.words, this.base + CLIENT_TAIL);
  }

  /** Wait (bounded) for the client's next request; returns its sequence number. */
  async nextRequest(): Promise<number> {
    const deadline = Date.now() + 10_000;
    while (Atomics.load(this.ctx.words, this.base + CLIENT_TAIL) === this.answered) {
      if (Date.now() > deadline) throw new Error('the client sent no request');
      await new Promise((r) => setTimeout(r, 2));
    }
    return this.answered;
  }

  /** Wait (bounded) until the client has sent request `seq`. */
  async sent(seq: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (((Atomics.load(this.ctx.words, this.base + CLIENT_TAIL) - seq) | 0) <= 0) {
      if (Date.now() > deadline) throw new Error(`the client sent no request ${seq}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Request `seq` as the client wrote it: kind (1 read, 2 write) and a copy of its payload. */
  request(seq: number): { kind: number; payload: Buffer } {
    const { words, bytes } = this.ctx;
    const at = this.ctx.slotAt(this.base, seq);
    const from = at * 4 + SLOT_HEADER_BYTES;
    return { kind: words[at]!, payload: Buffer.from(bytes.slice(from, from + words[at + 2]!)) };
  }

  /** Write a response to request `seq` (status, length, sequence word, payload) without publishing it. */
  write(seq: number, fields: { status: number; len?: number; seqWord?: number; payload?: Uint8Array }): void {
    const { words, bytes } = this.ctx;
    const at = this.ctx.slotAt(this.base, seq);
    const payload = fields.payload ?? new Uint8Array(0);
    words[at] = fields.status;
    words[at + 2] = fields.len ?? payload.length;
    words[at + 3] = fields.seqWord ?? seq;
    bytes.set(payload, at * 4 + SLOT_HEADER_BYTES);
  }

  /** Publish every response written up to request `seq`. */
  publish(seq: number): void {
    const words = this.ctx.words;
    this.answered = (seq + 1) | 0;
    Atomics.store(words, this.base + CLIENT_DONE, this.answered);
    Atomics.notify(words, this.base + CLIENT_DONE);
  }

  /** Write a response to request `seq` and publish it. */
  respond(seq: number, fields: { status: number; len?: number; seqWord?: number; payload?: Uint8Array }): void {
    this.write(seq, fields);
    this.publish(seq);
  }
}

function spawnClient(h: KvHandle): KvWorkerCalls {
  return spawnKvWorker(workers, { mode: 'client', handle: h, key: KEY, connect: { node: 0, timeoutMs: 20_000 } });
}

/** A length-prefixed blob, as the KV result codecs read them. */
function withLength(b: Uint8Array): Uint8Array {
  const out = Buffer.alloc(4 + b.length);
  out.writeUInt32LE(b.length, 0);
  out.set(b, 4);
  return out;
}

describe('forged responses in a KV client slot', () => {
  it('each forgery ends the op with its exact typed error, never a value', async () => {
    const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, clients: 1 } });
    const forger = new Forger(h);
    const c = spawnClient(h);
    expect((await c.first).attachError).toBeUndefined();

    /** Send `op` from the client, answer it with `forge`, return what the client made of it. */
    const forged = async (forge: (seq: number) => Parameters<Forger['respond']>[1], op: string, ...args: unknown[]): Promise<Reply> => {
      const reply = c.call(op, ...args);
      const seq = await forger.nextRequest();
      forger.respond(seq, forge(seq));
      return reply;
    };
    const OK = 1;
    const THREW = 2;

    const cases: [string, Reply][] = [
      ['wrong sequence number', await forged((seq) => ({ status: OK, seqWord: seq + 5, payload: withLength(Buffer.alloc(97)) }), 'get', 'k')],
      ['length beyond the slot', await forged(() => ({ status: OK, len: forger.maxPayload + 1 }), 'get', 'k')],
      ['negative length', await forged(() => ({ status: OK, len: -4 }), 'get', 'k')],
      ['garbage status', await forged(() => ({ status: 0x5a5a, payload: withLength(Buffer.alloc(97)) }), 'get', 'k')],
      ['an error report that does not decode', await forged(() => ({ status: THREW, payload: Buffer.from([0xff, 0x0f, 0x99, 0x01]) }), 'get', 'k')],
    ];
    for (const [what, r] of cases) {
      expect(r.ok, what).toBe(false);
      expect(r.error!.name, what).toBe('FailStopError');
      expect(r.error!.code, what).toBe('ERR_NR_FAIL_STOP');
    }
    expect(cases[0]![1].error!.message).toMatch(/does not answer request/);
    expect(cases[1]![1].error!.message).toMatch(/out of range/);
    expect(cases[3]![1].error!.message).toMatch(/no valid status/);
    expect(cases[4]![1].error!.message).toMatch(/does not decode/);

    // Well-framed answers whose contents do not authenticate: IntegrityError naming the key, no value.
    const get = await forged(() => ({ status: OK, payload: withLength(Buffer.alloc(97, 1)) }), 'get', 'k');
    expect(get).toMatchObject({ ok: false, error: { name: 'IntegrityError', code: 'ERR_KV_INTEGRITY', key: 'k' } });
    const shortGet = await forged(() => ({ status: OK, payload: withLength(Buffer.alloc(3)) }), 'get', 'k');
    expect(shortGet).toMatchObject({ ok: false, error: { name: 'IntegrityError', key: 'k' } });
    const scan = await forged(() => ({ status: OK, payload: withLength(Buffer.alloc(120, 7)) }), 'scan', { prefix: 'k' });
    expect(scan).toMatchObject({ ok: false, error: { name: 'IntegrityError', message: expect.stringMatching(/scan failed authentication/) } });
    const fields = Buffer.alloc(51 + 8);
    fields[0] = 1;
    const put = await forged(() => ({ status: OK, payload: Buffer.concat([withLength(fields), withLength(Buffer.alloc(16))]) }), 'put', 'k', 'v');
    expect(put).toMatchObject({ ok: false, error: { name: 'IntegrityError', key: 'k', message: expect.stringMatching(/answer to a write failed authentication/) } });
    // A forged error report that decodes is at most an error: the client never takes a value from it.
    const fake = await forged(() => ({ status: THREW, payload: new Uint8Array(serialize({ nrThrown: 1, name: 'KvStaleError', code: 'ERR_KV_STALE', message: 'forged' })) }), 'get', 'k');
    expect(fake.ok).toBe(false);
    expect(fake.error).toMatchObject({ name: 'KvStaleError', message: 'forged' });
  });
});

/** What an honest node would answer, built with the key: the attacker's raw material for replays and swaps. */
class HonestAnswers {
  readonly cipher: Cipher;
  private readonly arena: Arena;
  private readonly structure: ReturnType<typeof kvStructure>;
  /** The "node's" state: metadata of the keys it knows. */
  readonly metas = new Map<string, Meta>();

  constructor(h: KvHandle) {
    this.cipher = new Cipher(Buffer.from(KEY), h.storeId); // a key store's master key is its key
    this.arena = new Arena(h.header, h.arena);
    this.structure = kvStructure({ cipher: this.cipher, arena: this.arena, fresh: null, applied: { count: 0, head: '' } });
  }

  /** Seal `text` into the arena under `key`, as a put of it would. */
  store(key: string, text: string, version: number): void {
    const v = Buffer.from(text);
    const loc = this.arena.alloc(this.cipher.storedBytes(v.length));
    const sealId = this.arena.nextVersion();
    const tag = this.cipher.seal(key, sealId, v, this.arena.bytes, loc);
    this.metas.set(key, { version, sealId, loc, len: v.length, tag });
  }

  /** The genuine answer to a window of gets (a read request's payload: length-prefixed sealed request). */
  gets(payload: Buffer): Buffer {
    const boxed = payload.subarray(4, 4 + payload.readUInt32LE(0));
    return withLength(answerGets(this.cipher, (k) => this.metas.get(k), 3, 'H'.repeat(16), Buffer.from(boxed))) as Buffer;
  }

  /** The record in a write request's payload. */
  record(payload: Buffer): LogRecord {
    const r = new OpReader(payload);
    r.end = payload.length;
    return (this.structure.writeCodecs[this.structure.writeIds.apply!]!.decode(r) as [LogRecord])[0];
  }

  /**
   * The genuine answer to a window record, as a node applying it (on a copy
   * of its state) answers: each get sees the items before it. `drop` leaves
   * that many items off its end (then MAC'd as if genuine).
   */
  write(payload: Buffer, drop = 0): Buffer {
    const rec = this.record(payload);
    const items = rec.items.slice(0, rec.items.length - drop);
    const state = new Map(this.metas);
    const versions: number[] = [];
    const reads: (Meta | null)[] = [];
    items.forEach((it, i) => {
      versions.push(it.op === PUT ? 3 * 4096 + i : 0);
      if (it.op === GET) reads.push(state.get(it.key) ?? null);
      else if (it.op === PUT) state.set(it.key, { version: 3 * 4096 + i, sealId: it.sealId, loc: it.loc, len: it.len, tag: it.tag });
      else state.delete(it.key);
    });
    const fields = writeAnswerFields({ ok: true, current: 0, writer: rec.writer, seq: rec.seq, count: 3, head: 'H'.repeat(16), versions, reads });
    return Buffer.concat([withLength(fields), withLength(answerMac(this.cipher, WRITE_LABEL, '', '', fields))]);
  }
}

type Outcome = { ok: boolean; value?: unknown; error?: { name: string; code?: string; key?: string; message: string } };
const hex = (text: string) => ({ buffer: Buffer.from(text).toString('hex') });

describe('forged answers to a KV client window (gets, and records of puts, deletes and gets)', () => {
  it('genuine answers settle every op in order; a forged byte, a replayed, swapped or truncated answer ends every op of the window with IntegrityError', async () => {
    const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, clients: 1 } });
    const forger = new Forger(h);
    const node = new HonestAnswers(h);
    node.store('win:a', 'VALUE-A', 4096);
    node.store('win:b', 'VALUE-B', 4097);
    const c = spawnClient(h);
    expect((await c.first).attachError).toBeUndefined();
    const OK = 1;
    let next = forger.tail;

    /** Send one window; wait for its one request; answer it with `forge(request)`. */
    const windowOf = async (ops: unknown[][], forge: (req: { kind: number; payload: Buffer }, seq: number) => Parameters<Forger['respond']>[1]): Promise<Outcome[]> => {
      const reply = c.call('asyncOps', ops);
      const seq = next++;
      await forger.sent(seq);
      forger.respond(seq, forge(forger.request(seq), seq));
      const r = await reply;
      expect(r.ok).toBe(true);
      return r.value as Outcome[];
    };
    const gets: unknown[][] = [['getAsync', 'win:a'], ['getAsync', 'win:none'], ['getAsync', 'win:b']];
    const mixed: unknown[][] = [['putAsync', 'win:c', 'NEW-C'], ['getAsync', 'win:a'], ['deleteAsync', 'win:b'], ['getAsync', 'win:b']];
    // A window record's answer that fails names the record's first key for every op of it.
    const WRITE_KEYS = ['win:c', 'win:c', 'win:c', 'win:c'];
    const integrity = (rs: Outcome[], keys: string[]) => {
      expect(rs.length).toBe(keys.length);
      rs.forEach((r, i) => {
        expect(r.ok, `op ${i}`).toBe(false);
        expect(r.error, `op ${i}`).toMatchObject({ name: 'IntegrityError', code: 'ERR_KV_INTEGRITY', key: keys[i] });
      });
    };

    // Genuine answers: the window of gets is one read, the mixed window one write; every op settled in its order.
    const saved: { gets?: Buffer; write?: Buffer } = {};
    const g0 = await windowOf(gets, (req) => {
      expect(req.kind).toBe(1);
      saved.gets = node.gets(req.payload);
      return { status: OK, payload: saved.gets };
    });
    expect(g0).toEqual([{ ok: true, value: hex('VALUE-A') }, { ok: true }, { ok: true, value: hex('VALUE-B') }]);
    const m0 = await windowOf(mixed, (req) => {
      expect(req.kind).toBe(2);
      expect(node.record(req.payload).items.map((it) => [it.op, it.key])).toEqual([[PUT, 'win:c'], [GET, 'win:a'], [2, 'win:b'], [GET, 'win:b']]);
      saved.write = node.write(req.payload);
      return { status: OK, payload: saved.write };
    });
    // The get of win:b comes after its delete in the record: absent.
    expect(m0).toEqual([{ ok: true, value: 3 * 4096 }, { ok: true, value: hex('VALUE-A') }, { ok: true }, { ok: true }]);

    // A forged byte: a metadata byte of the gets answer, a version byte of the write answer.
    integrity(await windowOf(gets, (req) => {
      const a = node.gets(req.payload);
      a[4 + 26 + 2] ^= 1; // first entry's version
      return { status: OK, payload: a };
    }), ['win:a', 'win:none', 'win:b']);
    integrity(await windowOf(mixed, (req) => {
      const a = node.write(req.payload);
      a[4 + 51 + 3] ^= 1; // first item's version
      return { status: OK, payload: a };
    }), WRITE_KEYS);

    // A replayed answer: the genuine answers to the first windows, given to later identical windows.
    integrity(await windowOf(gets, () => ({ status: OK, payload: saved.gets! })), ['win:a', 'win:none', 'win:b']);
    integrity(await windowOf(mixed, () => ({ status: OK, payload: saved.write! })), WRITE_KEYS);

    // Truncated: cut short in the slot, or MAC'd over fewer entries than the window asked.
    integrity(await windowOf(gets, (req) => {
      const a = node.gets(req.payload);
      return { status: OK, payload: a, len: a.length - 41 };
    }), ['win:a', 'win:none', 'win:b']);
    integrity(await windowOf(gets, (req) => {
      // The first two of three keys answered, MAC'd for this request as if genuine.
      const full = node.gets(req.payload);
      const two = Buffer.from(full.subarray(4, 4 + 26 + 2 * META_BYTES));
      two.writeUInt16LE(2, 24);
      const nonce = req.payload.toString('latin1', 4, 4 + REQUEST_NONCE_BYTES);
      return { status: OK, payload: withLength(Buffer.concat([two, answerMac(node.cipher, GETS_LABEL, nonce, '', two)])) };
    }), ['win:a', 'win:none', 'win:b']);
    integrity(await windowOf(mixed, (req) => ({ status: OK, payload: node.write(req.payload, 1) })), WRITE_KEYS);
    integrity(await windowOf(mixed, (req) => {
      const a = node.write(req.payload);
      return { status: OK, payload: a, len: a.length - 8 };
    }), WRITE_KEYS);

    // Two windows in flight, their genuine answers swapped (each slot's sequence word rewritten to match).
    for (const ops of [gets, mixed]) {
      const r1 = c.call('asyncOps', ops);
      const s1 = next++;
      await forger.sent(s1);
      const r2 = c.call('asyncOps', ops);
      const s2 = next++;
      await forger.sent(s2);
      const answer = (seq: number) => (ops === gets ? node.gets(forger.request(seq).payload) : node.write(forger.request(seq).payload));
      const a1 = answer(s1);
      const a2 = answer(s2);
      forger.write(s1, { status: OK, payload: a2 });
      forger.write(s2, { status: OK, payload: a1 });
      forger.publish(s2);
      const keys = ops === gets ? ['win:a', 'win:none', 'win:b'] : WRITE_KEYS;
      for (const r of [await r1, await r2]) integrity(r.value as Outcome[], keys);
    }
  });
});

describe('a genuine answer replayed to a client of another node', () => {
  it("a node's authentic get and write answers to one client, written into another node's client slot, end that client's ops with IntegrityError", async () => {
    const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, clients: 1, replicas: 2 } });
    // Node 0 is a real replica; node 1 is played by the attacker.
    const node = spawnKvWorker(workers, { mode: 'serve', handle: h, key: KEY });
    expect((await node.first).slot).toBe(0);
    const a = spawnKvWorker(workers, { mode: 'client', handle: h, key: KEY, connect: { node: 0, timeoutMs: 20_000 } });
    const b = spawnKvWorker(workers, { mode: 'client', handle: h, key: KEY, connect: { node: 1, timeoutMs: 20_000 } });
    expect((await a.first).attachError).toBeUndefined();
    expect((await b.first).attachError).toBeUndefined();
    const seenA = new Forger(h, 0, 0); // only reads client A's slot
    const forgerB = new Forger(h, 1, 0);
    // Client A's genuine exchanges with node 0, recorded from its slot once answered.
    expect((await a.call('put', 'k', 'value of k')).ok).toBe(true);
    const putAnswer = seenA.request((seenA.tail - 1) | 0);
    expect((await a.call('getString', 'k')).value).toBe('value of k');
    const getAnswer = seenA.request((seenA.tail - 1) | 0);
    expect(putAnswer.kind).toBe(1);
    expect(getAnswer.kind).toBe(1);
    // The same ops from client B (node 1), answered with A's genuine answers.
    const replayed = async (answer: { kind: number; payload: Buffer }, op: string, ...args: unknown[]): Promise<Reply> => {
      const reply = b.call(op, ...args);
      const seq = await forgerB.nextRequest();
      forgerB.respond(seq, { status: answer.kind, payload: answer.payload });
      return reply;
    };
    const get = await replayed(getAnswer, 'get', 'k');
    expect(get).toMatchObject({ ok: false, error: { name: 'IntegrityError', code: 'ERR_KV_INTEGRITY', key: 'k' } });
    expect(get.error!.message).toMatch(/answer failed authentication/);
    const put = await replayed(putAnswer, 'put', 'k', 'value of k');
    expect(put).toMatchObject({ ok: false, error: { name: 'IntegrityError', key: 'k', message: expect.stringMatching(/answer to a write failed authentication/) } });
    // Client A and node 0 are unaffected.
    expect((await a.call('getString', 'k')).value).toBe('value of k');
  });
});
