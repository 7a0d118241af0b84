/**
 * Log entries are shared memory: a size, time or owner id in a logged op
 * that its issuer could not have written (a forged or torn entry) fail-stops
 * the replica that applies it, rather than leaving a file of size -1 or NaN,
 * a time NaN or an owner 1.5 in its state. The issuer logs a real op; the
 * test finds the word by its value in the newest record and overwrites it;
 * the other replica applies it at its next read.
 */
import { describe, expect, it } from 'vitest';
import { attachFs, createFs, type NrFs, type NrFsHandle } from '../src/fs/index.js';
import { FailStopError } from '../src/nr/index.js';
import { records, ring } from './support/kv-log.js';

/** Overwrite the one f64 equal to `value` in the newest record. */
function forge(h: NrFsHandle, value: number, forged: number): void {
  const rec = records(h as never).at(-1)!;
  const data = ring(h as never);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const at: number[] = [];
  for (let off = rec.at; off + 8 <= rec.at + rec.len; off++) if (view.getFloat64(off, true) === value) at.push(off);
  expect(at).toHaveLength(1);
  view.setFloat64(at[0]!, forged, true);
}

const CASES: Array<{ op: string; word: number; run: (fs: NrFs) => void; forged: number[] }> = [
  { op: 'truncate (its length)', word: 4097, run: (fs) => fs.truncate('/f', 4097), forged: [-1, NaN, 1.5, 2 ** 53 + 2, Infinity] },
  { op: 'ftruncate (its length)', word: 4097, run: (fs) => { const fd = fs.open('/f', 'r+'); fs.ftruncate(fd, 4097); fs.close(fd); }, forged: [-4097, NaN] },
  { op: 'chown (its uid)', word: 4242, run: (fs) => fs.chown('/f', 4242, 7), forged: [NaN, 1.5, -2, 2 ** 32] },
  { op: 'chown (its gid)', word: 4343, run: (fs) => fs.chown('/f', 7, 4343), forged: [NaN, -3] },
  { op: 'utimes (its mtime)', word: 123_456, run: (fs) => fs.utimes('/f', 5, 123_456), forged: [NaN, Infinity, -Infinity] },
];

describe('a forged size, time or owner in a log entry', () => {
  for (const c of CASES) {
    it(`${c.op}: fail-stops the replica that applies it`, () => {
      for (const forged of c.forged) {
        const h = createFs({ replicas: 2, maxReplicas: 2, capacityBytes: 1 << 20, logBytes: 1 << 16 });
        const a = attachFs(h);
        const b = attachFs(h);
        a.writeFile('/f', Buffer.alloc(5000, 1));
        b.replica.sync();
        const before = b.stat('/f');
        c.run(a);
        forge(h, c.word, forged);
        expect(() => b.stat('/f'), `${c.op} forged to ${forged}`).toThrow(FailStopError);
        // The issuer applied its own record, as passed: it is unaffected.
        expect(a.stat('/f').ino).toBe(before.ino);
        a.detach();
      }
    });
  }
});

describe('the times of utimes and futimes are checked at the call site (no entry another replica would refuse)', () => {
  it('a time that is not a finite number of ms is ERR_INVALID_ARG_TYPE, nothing logged', () => {
    const h = createFs({ replicas: 2, maxReplicas: 2, capacityBytes: 1 << 20 });
    const a = attachFs(h);
    const b = attachFs(h);
    a.writeFile('/f', 'x');
    const fd = a.open('/f', 'r');
    const appends = a.replica.stats().appends;
    for (const t of [NaN, Infinity, -Infinity, '5', undefined, null, 5n, {}]) {
      for (const call of [() => a.utimes('/f', t as number, 1), () => a.utimes('/f', 1, t as number), () => a.futimes(fd, t as number, 1)]) {
        expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' }));
      }
    }
    expect(a.replica.stats().appends).toBe(appends);
    a.utimes('/f', -5, 1e15);
    expect(b.stat('/f').mtimeMs).toBe(1e15);
    expect(b.stat('/f').atimeMs).toBe(-5);
    a.close(fd);
    a.detach();
    b.detach();
  });
});
