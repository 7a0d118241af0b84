/**
 * The stream is data from the network: what a site does with bytes it did
 * not write. Every truncation, flipped header field, bad op id, short or
 * overlong op of a valid batch is refused by parseEnvelope, and apply skips
 * it (the state does not change, `skipped` counts it) the same way on every
 * replica; a re-delivered sequence changes nothing; a read barrier only
 * moves the sequence. No NATS needed.
 */
import { describe, expect, it } from 'vitest';
import { defineStructure, OpWriter } from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';
import { encodeBarrier, encodeEnvelope, forEachOp, HEADER_BYTES, parseEnvelope } from '../src/cluster/envelope.js';
import { listen, type OpOutcome, type SiteState, siteStructure, unlisten, userWriteOps } from '../src/cluster/site-structure.js';

const ops = userWriteOps(HashMap as never);
const codecs = ops.map((o) => o.codec);
const PUT = HashMap.writeNames.indexOf('put');
const DEL = HashMap.writeNames.indexOf('delete');
const head = { site: 7, origin: 9, batch: 3 };
const valid = encodeEnvelope(new OpWriter(), HashMap.fingerprint, head, [
  { opId: PUT, args: ['a', 1] },
  { opId: PUT, args: ['b', 'two'] },
  { opId: DEL, args: ['a'] },
], codecs);
const wrapped = siteStructure(HashMap);
const apply = (st: SiteState<unknown>, seq: number, msg: Uint8Array): void => (wrapped.writes.apply as (s: unknown, q: number, m: Uint8Array) => void)(st, seq, msg);
const fresh = (): SiteState<unknown> => wrapped.create();
const digest = (st: SiteState<unknown>): string => wrapped.digest!(st);

describe('cluster envelopes', () => {
  it('a valid batch parses and applies in order', () => {
    expect(parseEnvelope(valid, HashMap.fingerprint, ops.length)).toEqual({ ...head, count: 3 });
    const seen: number[] = [];
    forEachOp(valid, 3, (opId) => seen.push(opId));
    expect(seen).toEqual([PUT, PUT, DEL]);
    const st = fresh();
    apply(st, 1, valid);
    expect(st.seq).toBe(1);
    expect([...(st.user as Map<string, unknown>)]).toEqual([['b', 'two']]);
  });

  it('every truncation and every extension by a byte is refused and skipped, state unchanged', () => {
    for (let n = 0; n < valid.length; n++) {
      expect(parseEnvelope(valid.subarray(0, n), HashMap.fingerprint, ops.length), `truncated to ${n}`).toBeNull();
    }
    const longer = new Uint8Array(valid.length + 1);
    longer.set(valid);
    expect(parseEnvelope(longer, HashMap.fingerprint, ops.length)).toBeNull();
    const st = fresh();
    const before = digest(st);
    apply(st, 1, valid.subarray(0, valid.length - 1));
    expect(st.seq).toBe(1);
    expect(st.skipped).toBe(1);
    expect(digest(st)).not.toBe(before); // it says one message was skipped
    expect((st.user as Map<string, unknown>).size).toBe(0);
  });

  it('a flipped magic, fingerprint, count, reserved field or op id is refused', () => {
    const flip = (at: number, bits = 0x01): Uint8Array => {
      const b = valid.slice();
      b[at]! ^= bits;
      return b;
    };
    expect(parseEnvelope(flip(0), HashMap.fingerprint, ops.length)).toBeNull();
    expect(parseEnvelope(flip(4), HashMap.fingerprint, ops.length)).toBeNull();
    expect(parseEnvelope(flip(20), HashMap.fingerprint, ops.length)).toBeNull(); // count 3 -> 2: bytes left over
    expect(parseEnvelope(flip(22), HashMap.fingerprint, ops.length)).toBeNull();
    const badOp = valid.slice();
    badOp[HEADER_BYTES] = ops.length; // one past the last write op
    expect(parseEnvelope(badOp, HashMap.fingerprint, ops.length)).toBeNull();
    const longLen = flip(HEADER_BYTES + 1, 0x40); // the first op's length runs past the end
    expect(parseEnvelope(longLen, HashMap.fingerprint, ops.length)).toBeNull();
    // Another structure's batch: the fingerprint differs.
    expect(parseEnvelope(valid, HashMap.fingerprint ^ 1, ops.length)).toBeNull();
  });

  it('a re-delivered or older sequence changes nothing; a read barrier only moves the sequence', () => {
    const st = fresh();
    apply(st, 5, valid);
    const d = digest(st);
    apply(st, 5, valid);
    apply(st, 4, encodeEnvelope(new OpWriter(), HashMap.fingerprint, head, [{ opId: PUT, args: ['z', 0] }], codecs));
    expect(st.seq).toBe(5);
    expect(digest(st)).toBe(d);
    apply(st, 6, encodeBarrier(7));
    expect(st.seq).toBe(6);
    expect(st.skipped).toBe(0);
    expect(digest(st)).toBe(d);
  });

  it('an op that throws fails alone, the same on every replica, and its issuer is handed each outcome', () => {
    const Strict = defineStructure({
      name: 'test.strict',
      create: (): number[] => [],
      reads: { all: (s: number[]): number[] => [...s] },
      writes: {
        push: (s: number[], n: number): number => {
          if (n < 0) throw new RangeError(`negative: ${n}`);
          return s.push(n);
        },
      },
    });
    const w = siteStructure(Strict);
    const msg = encodeEnvelope(new OpWriter(), Strict.fingerprint, head, [1, -1, 2].map((n) => ({ opId: 0, args: [n] })), userWriteOps(Strict as never).map((o) => o.codec));
    const got: { batch: number; seq: number; outcomes: OpOutcome[] }[] = [];
    listen(head.site, head.origin, (batch, seq, outcomes) => got.push({ batch, seq, outcomes }));
    const [a, b] = [w.create(), w.create()];
    try {
      (w.writes.apply as (s: unknown, q: number, m: Uint8Array) => void)(a, 1, msg);
    } finally {
      unlisten(head.site, head.origin);
    }
    (w.writes.apply as (s: unknown, q: number, m: Uint8Array) => void)(b, 1, msg);
    expect(a.user).toEqual([1, 2]);
    expect(w.digest!(a)).toBe(w.digest!(b));
    expect(got).toHaveLength(1);
    expect(got[0]!.batch).toBe(head.batch);
    expect(got[0]!.seq).toBe(1);
    const [o1, o2, o3] = got[0]!.outcomes;
    expect(o1).toEqual({ ok: true, value: 1 });
    expect(o2!.ok).toBe(false);
    expect((o2 as { error: unknown }).error).toBeInstanceOf(RangeError);
    expect(o3).toEqual({ ok: true, value: 2 });
  });

  it('the trust model (docs/cluster.md): a well-formed batch from any publisher, and a replay of one at a new sequence, are applied alike', () => {
    // Envelopes carry no MAC: who may publish is NATS's to decide. What is promised is that
    // every replica does the same with the same bytes, never that a forged batch is refused.
    const forged = encodeEnvelope(new OpWriter(), HashMap.fingerprint, { site: 0xdead, origin: 0xbeef, batch: 1 }, [{ opId: PUT, args: ['x', 'forged'] }], codecs);
    const a = fresh();
    const b = fresh();
    for (const st of [a, b]) {
      apply(st, 1, forged);
      apply(st, 2, valid);
      apply(st, 3, valid); // the same bytes again at a new sequence: applied again
    }
    expect(a.skipped).toBe(0);
    expect([...(a.user as Map<string, unknown>)]).toEqual([['x', 'forged'], ['b', 'two']]);
    expect(digest(a)).toBe(digest(b));
  });
});
