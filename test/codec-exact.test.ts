/**
 * Replicas cannot diverge on an argument the log cannot carry. The issuing
 * replica applies the caller's own objects, every other replica the decoded
 * bytes; so the writer's primitives refuse what they would change (typed
 * EncodeError at the call site, nothing appended), and codecs whose round
 * trip is not exact (v8Codec) have the issuing replica apply the decoded form.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attach, createHandle, defineStructure, EncodeError, type OpReader, type OpWriter } from '../src/nr/index.js';
import { TAIL } from '../src/nr/log/layout.js';
import { HashMap } from '../src/nr/structures/index.js';

const tailOf = (sab: SharedArrayBuffer): number => Atomics.load(new Int32Array(sab), TAIL);

/** One write op per primitive, with a hand-written codec that uses exactly that primitive. */
const Fields = defineStructure({
  name: 'fields',
  create: (): unknown[] => [],
  reads: { all: (s: unknown[]) => s },
  writes: {
    u8: (s: unknown[], v: number) => void s.push(v),
    u32: (s: unknown[], v: number) => void s.push(v),
    i32: (s: unknown[], v: number) => void s.push(v),
    str: (s: unknown[], v: string) => void s.push(v),
  },
  codecs: {
    u8: { encode: (w: OpWriter, v: number) => w.u8(v), decode: (r: OpReader): [number] => [r.u8()] },
    u32: { encode: (w: OpWriter, v: number) => w.u32(v), decode: (r: OpReader): [number] => [r.u32()] },
    i32: { encode: (w: OpWriter, v: number) => w.i32(v), decode: (r: OpReader): [number] => [r.i32()] },
    str: { encode: (w: OpWriter, v: string) => w.str(v), decode: (r: OpReader): [string] => [r.str()] },
  },
  digest: (s: unknown[]) => JSON.stringify(s.map((v) => (Object.is(v, -0) ? '-0' : v))),
});

describe('values a codec cannot carry', () => {
  const refused: [op: 'u8' | 'u32' | 'i32', v: number][] = [
    ['u8', 256],
    ['u8', -1],
    ['u8', 1.5],
    ['u8', -0],
    ['u32', 2 ** 32],
    ['u32', -1],
    ['u32', 0.5],
    ['u32', -0],
    ['u32', NaN],
    ['i32', 2 ** 31],
    ['i32', -(2 ** 31) - 1],
    ['i32', 1.5],
    ['i32', -0],
    ['i32', Infinity],
  ];
  it.each(refused)('%s(%s) is an EncodeError with nothing appended', (op, v) => {
    const h = createHandle(Fields, { replicas: 2, logBytes: 4096 });
    const a = attach(h, Fields);
    const tail = tailOf(h.memory.buffer);
    expect(() => a.write(op, v)).toThrow(EncodeError);
    expect(tailOf(h.memory.buffer)).toBe(tail);
    expect(a.reads.all()).toEqual([]);
  });

  it.each(['\uD800', 'key:\uDFFF', 'a\uD800b'.repeat(20), '\uDC00\uD800'])('a lone surrogate in %j is an EncodeError (UTF-8 would make it U+FFFD)', (s) => {
    const h = createHandle(HashMap, { replicas: 2, logBytes: 4096 });
    const a = attach(h, HashMap);
    const tail = tailOf(h.memory.buffer);
    expect(() => a.write('put', s, 1)).toThrow(EncodeError);
    expect(() => a.write('put', 'ok', s)).toThrow(EncodeError);
    expect(tailOf(h.memory.buffer)).toBe(tail);
  });

  it('the boundary values themselves are carried exactly', () => {
    const h = createHandle(Fields, { replicas: 2, logBytes: 4096 });
    const a = attach(h, Fields);
    const b = attach(h, Fields);
    for (const v of [0, 255]) a.write('u8', v);
    for (const v of [0, 2 ** 32 - 1]) a.write('u32', v);
    for (const v of [-(2 ** 31), 2 ** 31 - 1, 0]) a.write('i32', v);
    for (const v of ['', 'é', '😀', 'x'.repeat(100) + '\uD83D\uDE00']) a.write('str', v);
    b.sync();
    expect(b.reads.all()).toEqual(a.reads.all());
    expect(b.digest()).toBe(a.digest());
  });

  it('property: any value fed to any primitive either throws EncodeError or leaves both replicas equal', () => {
    const h = createHandle(Fields, { replicas: 2, logBytes: 1 << 16 });
    const a = attach(h, Fields);
    const b = attach(h, Fields);
    const num = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-0, 2 ** 32, 2 ** 31, -(2 ** 31), 255, 256, -1));
    fc.assert(
      fc.property(fc.constantFrom('u8' as const, 'u32' as const, 'i32' as const), num, fc.string({ unit: 'binary' }), (op, v, s) => {
        try {
          a.write(op, v);
        } catch (e) {
          expect(e).toBeInstanceOf(EncodeError);
        }
        try {
          a.write('str', s);
        } catch (e) {
          expect(e).toBeInstanceOf(EncodeError);
          expect(s.isWellFormed()).toBe(false);
        }
        b.sync();
        expect(b.digest()).toBe(a.digest());
      }),
      { numRuns: 300 },
    );
  });
});

describe('v8Codec: the issuing replica applies the decoded form', () => {
  class Point {
    constructor(public x: number) {}
    get doubled(): number {
      return this.x * 2;
    }
  }
  let reads = 0;
  const Objects = defineStructure({
    name: 'objects',
    create: (): string[] => [],
    reads: { all: (s: string[]) => s },
    writes: {
      // What an apply can observe that structured clone does not keep: the prototype, a getter, a symbol key.
      add: (s: string[], o: object) => s.push(`${o instanceof Point} ${String((o as { doubled?: number }).doubled)} ${Object.getOwnPropertySymbols(o).length}`),
    },
    digest: (s: string[]) => s.join('|'),
  });

  it('a class instance, a getter and a symbol key apply the same on both replicas', () => {
    const h = createHandle(Objects, { replicas: 2, logBytes: 4096 });
    const a = attach(h, Objects);
    const b = attach(h, Objects);
    a.write('add', new Point(3));
    const counting = {
      get doubled() {
        return ++reads;
      },
      [Symbol('s')]: 1,
    };
    a.write('add', counting);
    b.sync();
    expect(a.reads.all()).toEqual(['false undefined 0', 'false 1 0']);
    expect(b.digest()).toBe(a.digest());
    expect(reads).toBe(1); // read once, by the encoder
  });

  it('async writes combined in one batch each apply their own decoded args', async () => {
    const h = createHandle(Objects, { replicas: 2, logBytes: 1 << 16 });
    const a = attach(h, Objects);
    const b = attach(h, Objects);
    await Promise.all(Array.from({ length: 50 }, (_, i) => a.writeAsync('add', new Point(i))));
    b.sync();
    expect(a.reads.all()).toHaveLength(50);
    expect(b.digest()).toBe(a.digest());
  });
});

describe('OpWriter.tagI32', () => {
  it('writes a u8 tag then a little-endian i32 (as u8 then i32 would), refuses bad values with nothing written', async () => {
    const { OpWriter: Writer } = await import('../src/nr/codec.js');
    for (const v of [0, 1, -1, 0x7fffffff, -0x80000000, 123456]) {
      const a = new Writer(8);
      const b = new Writer(8);
      a.tagI32(2, v);
      b.u8(2);
      b.i32(v);
      expect(a.pos).toBe(5);
      expect([...a.bytes.subarray(0, 5)]).toEqual([...b.bytes.subarray(0, 5)]);
    }
    // Growth from a full buffer keeps what was written before.
    const g = new Writer(4);
    g.u8(9);
    g.tagI32(7, -2);
    expect([...g.bytes.subarray(0, 6)]).toEqual([9, 7, 0xfe, 0xff, 0xff, 0xff]);
    for (const [tag, v] of [[256, 1], [-1, 1], [-0, 1], [1.5, 1], [2, 2 ** 31], [2, 1.5], [2, -0], [2, Number.NaN]] as const) {
      const w = new Writer(8);
      expect(() => w.tagI32(tag, v)).toThrow(RangeError);
      expect(w.pos).toBe(0);
    }
  });
});
