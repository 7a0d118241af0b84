/**
 * A KV client's answers come back through shared client slots, which the
 * attacker can write. Here the test thread plays the attacker in place of
 * the node (no replica serves node 0): for each request the client sends,
 * it writes a forged response into the client's slot (a wrong sequence
 * number, a length out of range, a garbage status, an error report that
 * does not decode, an answer that does not authenticate) and publishes it.
 * The client must end each op with its exact typed error, never a value.
 */
import { serialize } from 'node:v8';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createKv, type KvHandle } from '../src/kv/index.js';
import { CLIENT_DONE, CLIENT_TAIL, SharedContext, SLOT_HEADER_BYTES } from '../src/nr/clients/context.js';
import { type KvReply as Reply, type KvWorkerCalls, spawnKvWorker } from './support/kv-calls.js';

const KEY = new Uint8Array(32).fill(9);
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

/** The attacker's view of client 0 of node 0: wait for its next request, then answer it with whatever it likes. */
class Forger {
  private readonly ctx: SharedContext;
  private readonly base: number;
  private answered: number;
  constructor(h: KvHandle) {
    this.ctx = new SharedContext(h.nr.context!);
    this.base = this.ctx.clientAt(0, 0);
    this.answered = Atomics.load(this.ctx.words, this.base + CLIENT_DONE);
  }

  get maxPayload(): number {
    return this.ctx.maxPayloadBytes;
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

  /** Write a response to request `seq` (status, length, sequence word, payload) and publish it. */
  respond(seq: number, fields: { status: number; len?: number; seqWord?: number; payload?: Uint8Array }): void {
    const { words, bytes } = this.ctx;
    const at = this.ctx.slotAt(this.base, seq);
    const payload = fields.payload ?? new Uint8Array(0);
    words[at] = fields.status;
    words[at + 2] = fields.len ?? payload.length;
    words[at + 3] = fields.seqWord ?? seq;
    bytes.set(payload, at * 4 + SLOT_HEADER_BYTES);
    this.answered = (seq + 1) | 0;
    Atomics.store(words, this.base + CLIENT_DONE, this.answered);
    Atomics.notify(words, this.base + CLIENT_DONE);
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
