/**
 * Forged words in the log's shared memory: a replica that holds head never
 * trusts them. Each case ends in FailStopError on the replica that meets the
 * forgery, at once (no wait for a bound), with nothing more published, and
 * never in a wrong or stale value served. On one log and on 4 parallel
 * logs (support/log-systems), where the forgery is in the log of the key
 * the ops use.
 */
import { describe, expect, it } from 'vitest';
import { FailStopError, type NrHandle } from '../src/nr/index.js';
import { CELL_WORDS, CTAIL, geometry, HEAD, TAIL } from '../src/nr/log/layout.js';
import { attachMap, createMapHandle, LOG_COUNTS, logOfKey, logsOf, type MapHandle } from './support/log-systems.js';

/** The words of the log that `key`'s ops go to. */
const logWords = (h: MapHandle, key: string): Int32Array => new Int32Array(keyLog(h, key).memory.buffer);
const keyLog = (h: MapHandle, key: string): NrHandle => logsOf(h)[logOfKey(h, key)]!;

/** The data ring as words (header words of the entry at `pos` start at `(pos & mask) * CELL_WORDS`). */
function dataWords(h: NrHandle, logBytes: number, maxReplicas: number): { dw: Int32Array; mask: number } {
  const g = geometry(logBytes, maxReplicas);
  return { dw: new Int32Array(h.memory.buffer, g.dataAt, (g.cells * 32) / 4), mask: g.cells - 1 };
}

function twoReplicas(logs: number) {
  const h = createMapHandle(logs, { replicas: 2, logBytes: 4096, maxReplicas: 2 });
  return { h, a: attachMap(h), b: attachMap(h) };
}

function expectFailStop(f: () => unknown): void {
  const t0 = performance.now();
  expect(f).toThrow(FailStopError);
  expect(performance.now() - t0).toBeLessThan(500);
}

describe.each(LOG_COUNTS)('forged log words, %i log(s)', (logs) => {
  it('CTAIL rolled back behind a replica: its next read fails stop, no stale value', () => {
    const h = createMapHandle(logs, { replicas: 2, logBytes: 4096 });
    const a = attachMap(h);
    const b = attachMap(h);
    a.writes.put('k', 1);
    expect(b.reads.get('k')).toBe(1);
    const before = Atomics.load(logWords(h, 'k'), CTAIL);
    a.writes.put('k', 2);
    expect(b.reads.get('k')).toBe(2);
    Atomics.store(logWords(h, 'k'), CTAIL, before); // roll back below b's position
    expectFailStop(() => b.reads.get('k'));
    expect(() => b.reads.get('k')).toThrow(FailStopError); // halted for good
  });

  it('CTAIL forged past TAIL: the read fails stop at once instead of waiting on entries that do not exist', () => {
    const h = createMapHandle(logs, { replicas: 2, logBytes: 4096 });
    const a = attachMap(h);
    const b = attachMap(h);
    a.writes.put('k', 1);
    Atomics.store(logWords(h, 'k'), CTAIL, Atomics.load(logWords(h, 'k'), TAIL) + 40);
    expectFailStop(() => b.reads.get('k'));
  });

  it('HEAD moved past TAIL: a writer fails stop instead of taking the ring as free', () => {
    const h = createMapHandle(logs, { replicas: 1, logBytes: 4096 });
    const a = attachMap(h);
    a.writes.put('k', 1);
    Atomics.store(logWords(h, 'k'), HEAD, Atomics.load(logWords(h, 'k'), TAIL) + 64);
    expectFailStop(() => a.writes.put('k', 2));
  });

  it('an entry header turned into a PAD of 2^20 cells: the lagging replica fails stop, the others are unaffected until they meet it', () => {
    const { h, a, b } = twoReplicas(logs);
    const pos = Atomics.load(logWords(h, 'k'), TAIL);
    a.writes.put('k', 1);
    const { dw, mask } = dataWords(keyLog(h, 'k'), 4096, 2);
    dw[(pos & mask) * CELL_WORDS] = 1 << 20;
    dw[(pos & mask) * CELL_WORDS + 1] = 2; // PAD
    expectFailStop(() => b.reads.get('k'));
  });

  it("an entry's seal dropped after CTAIL passed it: the lagging replica fails stop at once (it waited out the unsealed-entry bound, 2.4 s here and 13 s at the defaults)", () => {
    const h = createMapHandle(logs, { replicas: 2, logBytes: 4096, maxReplicas: 2, fenceAfterMs: 100, deadAfterMs: 200 });
    const a = attachMap(h);
    const b = attachMap(h);
    const pos = Atomics.load(logWords(h, 'k'), TAIL);
    a.writes.put('k', 1); // a replays it and raises CTAIL past it
    const g = geometry(4096, 2);
    const w = logWords(h, 'k');
    expect(Atomics.load(w, g.sealsAt + (pos & (g.cells - 1)))).toBe(pos);
    Atomics.store(w, g.sealsAt + (pos & (g.cells - 1)), ~pos); // as never sealed
    expectFailStop(() => b.reads.get('k'));
    expect(() => b.reads.get('k')).toThrow(/the entry at position \d+ is before CTAIL \d+ but not sealed/);
    expect(a.reads.get('k')).toBe(1); // a is past it
  });

  it('an unknown entry kind, or an op length enlarged past its entry: fail-stop', () => {
    for (const forge of ['kind', 'op-length'] as const) {
      const { h, a, b } = twoReplicas(logs);
      const pos = Atomics.load(logWords(h, 'key'), TAIL);
      a.writes.put('key', 'value');
      const { dw, mask } = dataWords(keyLog(h, 'key'), 4096, 2);
      const at = (pos & mask) * CELL_WORDS;
      if (forge === 'kind') dw[at + 1] = (dw[at + 1]! & ~0xff) | 7;
      else dw[at + 4] = (dw[at + 4]! & ~0xffffff) | 0xfff0; // the first op's length
      expectFailStop(() => b.reads.get('key'));
    }
  });
});
