/**
 * writeBatch on parallel logs: a batch is one run of one entry on the log
 * all of its ops map to (src/nr/cnr/batch-log.ts); a batch spanning logs or
 * holding a multi-log op is refused, typed, with nothing written.
 */
import { describe, expect, it } from 'vitest';
import { attachCnr, createCnrHandle, DetachedError, EncodeError, keyHash, LogMapperError, UnknownOpError } from '../src/nr/index.js';
import { HashMapCnr } from '../src/nr/structures/index.js';

const LOGS = 4;
/** `n` distinct keys that map to log `log`. */
function keysOn(log: number, n: number, prefix = 'k'): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (keyHash(`${prefix}${i}`) % LOGS === log) out.push(`${prefix}${i}`);
  return out;
}

function setup() {
  const handle = createCnrHandle(HashMapCnr, { logs: LOGS, replicas: 2, logBytes: 1 << 14 });
  return { writer: attachCnr(handle, HashMapCnr), reader: attachCnr(handle, HashMapCnr) };
}

describe('parallel logs: writeBatch', () => {
  it('runs a batch of one log as one entry there, in order, with each op\'s result; another view reads it', () => {
    const { writer, reader } = setup();
    try {
      for (let log = 0; log < LOGS; log++) {
        const [a, b, c] = keysOn(log, 3);
        const entriesBefore = writer.stats().logs.map((s) => s.appends);
        const results = writer.writeBatch([['put', a!, 1], ['put', b!, 2], ['put', a!, 3], ['delete', c!], ['put', c!, 4]]);
        expect(results).toEqual([undefined, undefined, 1, false, undefined]);
        const entriesAfter = writer.stats().logs.map((s) => s.appends);
        // One entry, on that log only.
        expect(entriesAfter.map((n, i) => n - entriesBefore[i]!)).toEqual(Array.from({ length: LOGS }, (_, i) => (i === log ? 1 : 0)));
        expect([reader.reads.get(a!), reader.reads.get(b!), reader.reads.get(c!)]).toEqual([3, 2, 4]);
      }
      expect(writer.writeBatch([])).toEqual([]);
    } finally {
      writer.detach();
      reader.detach();
    }
  });

  it('goes after the writes this view queued on that log', async () => {
    const { writer, reader } = setup();
    try {
      const [k] = keysOn(1, 1);
      const queued = writer.writeAsync('put', k!, 'first');
      expect(writer.writeBatch([['put', k!, 'second']])).toEqual(['first']);
      await expect(queued).resolves.toBeUndefined();
      expect(reader.reads.get(k!)).toBe('second');
    } finally {
      writer.detach();
      reader.detach();
    }
  });

  it('refuses a batch spanning logs, one with a multi-log op, and malformed ones, typed, with nothing written', () => {
    const { writer, reader } = setup();
    try {
      const [a] = keysOn(0, 1);
      const [b] = keysOn(2, 1);
      const entries = (): number[] => writer.stats().logs.map((s) => s.appends);
      const before = entries();
      expect(before.every((n) => Number.isInteger(n))).toBe(true);
      expect(() => writer.writeBatch([['put', a!, 1], ['put', b!, 2]])).toThrow(LogMapperError);
      expect(() => writer.writeBatch([['put', a!, 1], ['put', b!, 2]])).toThrow(/op 1 \('put'\) maps to log 2, op 0 \('put'\) to log 0/);
      expect(() => writer.writeBatch([['put', a!, 1], ['clear']])).toThrow(/op 1 \('clear'\) is a multi-log op/);
      expect(() => writer.writeBatch(null as never)).toThrow(EncodeError);
      expect(() => writer.writeBatch([['put', a!, 1], 'put' as never])).toThrow(EncodeError);
      expect(() => writer.writeBatch([['put', a!, 1], ['nope', 1] as never])).toThrow(UnknownOpError);
      expect(() => writer.writeBatch([['put', a!, 1], [{}] as never])).toThrow(UnknownOpError);
      // An op that does not encode, on the batch's one log: the replica's own check, nothing appended.
      expect(() => writer.writeBatch([['put', a!, 1], ['put', a!, (() => 0) as never]])).toThrow(EncodeError);
      expect(entries()).toEqual(before);
      expect([reader.reads.get(a!), reader.reads.get(b!)]).toEqual([undefined, undefined]);
      // The view goes on.
      expect(writer.writeBatch([['put', a!, 7]])).toEqual([undefined]);
      expect(reader.reads.get(a!)).toBe(7);
    } finally {
      writer.detach();
      reader.detach();
    }
  });

  it('throws DetachedError after detach, an empty batch too', () => {
    const { writer, reader } = setup();
    writer.detach();
    reader.detach();
    const [a] = keysOn(0, 1);
    expect(() => writer.writeBatch([['put', a!, 1]])).toThrow(DetachedError);
    expect(() => writer.writeBatch([])).toThrow(DetachedError);
  });
});
