/**
 * Lengths read from shared memory are checked against the op's end before
 * they are used. `OpReader` used to clamp a forged string length silently
 * (a short or neighbour-made string instead of an error). Here the forged
 * length is in a log entry (every replica that decodes it fails stop), in a
 * client's request (its read answers DecodeError; its write fail-stops the
 * node, as every replica decoding that entry would) and in an answer (that
 * op fails with FailStopError, never a value). Real SharedArrayBuffers; the
 * log case also on a replica in a worker thread.
 */
import { describe, expect, it } from 'vitest';
import { attach, connect, createHandle, DecodeError, FailStopError, NodeGoneError, OpReader, OpWriter, v8ValueCodec } from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';
import { CLIENT_TAIL, SharedContext, SLOT_HEADER_BYTES } from '../src/nr/clients/context.js';
import { CELL_BYTES, ENTRY_HEADER_BYTES, geometry, OP_HEADER_BYTES, TAIL } from '../src/nr/log/layout.js';
import { startNode } from './support/node-worker.js';

const LOG_BYTES = 4096;

/** A put('key', 'value') entry's key length word: entry header, op header, tag (1), then the u32 length. */
const KEY_LENGTH_AT = ENTRY_HEADER_BYTES + OP_HEADER_BYTES + 1;

describe('OpReader bounds', () => {
  it('a string, byte string or v8 value whose length runs past the end throws DecodeError and consumes nothing; fields past the end too', () => {
    const w = new OpWriter();
    w.str('key');
    w.bytesWithLength(new Uint8Array([1, 2, 3]));
    v8ValueCodec<number[]>().encode(w, [1, 2]);
    const bytes = w.bytes.slice(0, w.pos + 64); // neighbour bytes after the end, which a clamp would have read
    const r = new OpReader(bytes, w.pos);
    expect(r.str()).toBe('key');
    expect(Array.from(r.bytesWithLength())).toEqual([1, 2, 3]);
    expect(v8ValueCodec<number[]>().decode(r)).toEqual([1, 2]);
    expect(r.remaining).toBe(0);
    for (const read of [() => r.u8(), () => r.u32(), () => r.i32(), () => r.f64()]) {
      expect(read).toThrow(DecodeError);
      expect(r.pos).toBe(w.pos);
    }
    // The same bytes with each length forged one past what the op holds.
    for (const [at, read] of [
      [0, (x: OpReader) => x.str()],
      [7, (x: OpReader) => x.bytesWithLength()],
      [14, (x: OpReader) => v8ValueCodec().decode(x)],
    ] as const) {
      const forged = bytes.slice();
      const fv = new DataView(forged.buffer);
      fv.setUint32(at, w.pos - at - 4 + 1, true);
      const x = new OpReader(forged, w.pos);
      x.pos = at;
      expect(() => read(x)).toThrow(DecodeError);
      expect(() => read(x)).toThrow(expect.objectContaining({ code: 'ERR_NR_DECODE', message: expect.stringMatching(new RegExp(`of ${w.pos - at - 4 + 1} bytes at byte ${at} runs past the op's end at byte ${w.pos}`)) }));
      expect(x.pos).toBe(at);
    }
  });

  it('a reader built without an end reads up to the end of its bytes, and no further', () => {
    const w = new OpWriter();
    w.str('abc');
    const r = new OpReader(w.bytes.slice(0, w.pos));
    expect(r.remaining).toBe(7);
    expect(r.str()).toBe('abc');
    expect(() => r.u8()).toThrow(DecodeError);
  });

  it('take(n) claims n bytes or throws DecodeError for a negative, fractional or too large n', () => {
    const r = new OpReader(new Uint8Array(8), 6);
    expect(r.take(4)).toBe(0);
    for (const n of [3, -1, 0.5, Number.NaN, 2 ** 53]) expect(() => r.take(n)).toThrow(DecodeError);
    expect(r.take(2)).toBe(4);
    expect(r.remaining).toBe(0);
  });

  it('a hashmap scalar with an unknown tag is a DecodeError, not a string', () => {
    const r = new OpReader(new Uint8Array([7, 3, 0, 0, 0, 97, 98, 99]));
    expect(() => HashMap.writeCodecs[HashMap.writeIds['delete']!]!.decode(r)).toThrow(/a hashmap scalar has tag 7/);
  });
});

describe('a forged length in a log entry', () => {
  it("a put's key length forged past its op: the replica that applies it fails stop (in this thread and in a worker); it never holds a key made of neighbour bytes", async () => {
    const h = createHandle(HashMap, { replicas: 3, logBytes: LOG_BYTES, maxReplicas: 2 + 1 });
    const a = attach(h, HashMap);
    const b = attach(h, HashMap);
    const other = await startNode(h, 'serve');
    try {
      const words = new Int32Array(h.memory.buffer);
      const pos = Atomics.load(words, TAIL);
      a.writes.put('key', 'value');
      const g = geometry(LOG_BYTES, 3);
      const at = g.dataAt + (pos & (g.cells - 1)) * CELL_BYTES + KEY_LENGTH_AT;
      new DataView(h.memory.buffer).setUint32(at, 1000, true);
      expect(() => b.reads.get('key')).toThrow(FailStopError);
      expect(() => b.reads.get('key')).toThrow(/the entry at position \d+ cannot be applied \(op 0 \(id 0\) does not decode: op bytes do not decode: a string \(its u32 length prefix\) of 1000 bytes at byte \d+ runs past the op's end/);
      // The worker's replica meets it at its next read: the read throws FailStopError there.
      other.worker.postMessage({ get: 'key' });
      const m = await other.next((x) => 'failed' in x || 'value' in x);
      expect(m.failed).toMatch(/^FailStopError: the shared log is corrupt: the entry at position \d+ cannot be applied \(op 0 \(id 0\) does not decode/);
      // The issuer applied its own args and never reads the entry back.
      expect(a.reads.get('key')).toBe('value');
    } finally {
      await other.worker.terminate();
    }
  });
});

/** Client 0 of node `node`'s request or answer slot for request `seq`: word index and payload byte offset. */
function slotOf(ctx: SharedContext, node: number, seq: number): { at: number; payload: number } {
  const at = ctx.slotAt(ctx.clientAt(node, 0), seq);
  return { at, payload: at * 4 + SLOT_HEADER_BYTES };
}

describe('a forged length in a client slot', () => {
  function setup() {
    const h = createHandle(HashMap, { replicas: 2, logBytes: 1 << 16, clients: 1 });
    const node = attach(h, HashMap);
    const remote = attach(h, HashMap);
    const client = connect(h, HashMap, { node: node.id, timeoutMs: 5000 });
    const ctx = new SharedContext(h.context!);
    const tail = (): number => Atomics.load(ctx.words, ctx.clientAt(node.id, 0) + CLIENT_TAIL);
    return { h, node, remote, client, ctx, tail };
  }

  it("a read request's key length forged past its bytes: that read answers DecodeError; the node and later ops are unaffected", async () => {
    const { node, client, ctx, tail } = setup();
    node.writes.put('key', 'value');
    const seq = tail();
    const p = client.readAsync('get', 'key'); // copied into the slot now, published at the end of this tick
    const { payload } = slotOf(ctx, node.id, seq);
    new DataView(ctx.bytes.buffer).setUint32(payload + 1, 200, true); // tag, then the key's length
    const err = await p.catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'DecodeError', code: 'ERR_NR_DECODE' });
    expect((err as Error).message).toMatch(/a string \(its u32 length prefix\) of 200 bytes at byte \d+ runs past the op's end/);
    expect(await client.readAsync('get', 'key')).toBe('value');
    expect(node.reads.get('key')).toBe('value');
    client.close();
  });

  it("a write request's key length forged past its bytes: the node fails stop at that entry (as every replica decoding it does), the client gets NodeGoneError, no replica holds a forged key", async () => {
    const { node, remote, client, ctx, tail } = setup();
    node.writes.put('key', 'value');
    const seq = tail();
    const p = client.writeAsync('put', 'k2', 'v2');
    const { payload } = slotOf(ctx, node.id, seq);
    new DataView(ctx.bytes.buffer).setUint32(payload + 1, 200, true);
    await Promise.resolve(); // the request is published
    expect(tail()).toBe(seq + 1);
    expect(() => node.writes.put('x', 'y')).toThrow(/client 0's write \(op id 0\) at its place in this node's entry does not decode: op bytes do not decode: a string/);
    expect(() => node.reads.get('key')).toThrow(FailStopError); // halted for good
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeGoneError);
    // The entry was sealed but never completed (CTAIL is before it): a read elsewhere does not apply it, the next write there does.
    expect(remote.reads.get('k2')).toBeUndefined();
    expect(() => remote.writes.put('z', 'z')).toThrow(/op \d \(id 0\) does not decode: op bytes do not decode: a string \(its u32 length prefix\) of 200 bytes/);
    expect(() => remote.reads.get('key')).toThrow(FailStopError);
  });

  it("an answer's string length forged past the slot's answer: that op fails with FailStopError, never a string", async () => {
    const { node, client, ctx, tail } = setup();
    node.writes.put('key', 'value');
    const seq = tail();
    const p = client.readAsync('get', 'key');
    await Promise.resolve();
    node.writes.put('x', 'y'); // the node's commit drains the client: the read is answered in the slot now
    const { at, payload } = slotOf(ctx, node.id, seq);
    expect([ctx.words[at], ctx.words[at + 2]]).toEqual([1, 1 + 4 + 5]); // Ok; tag, length, 'value'
    new DataView(ctx.bytes.buffer).setUint32(payload + 1, 6, true); // one byte past the answer
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailStopError);
    expect((err as Error).message).toMatch(/client slot 0 of node \d: the response in slot \d+ does not decode: shared memory was tampered with \(op bytes do not decode: a string \(its u32 length prefix\) of 6 bytes/);
    expect(await client.readAsync('get', 'key')).toBe('value');
    client.close();
  });
});
