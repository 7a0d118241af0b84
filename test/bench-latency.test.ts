import { describe, it, expect } from 'vitest';
import { bucketOf, bucketRange, LATENCY_BUCKETS, LatencyHistogram, latencyFields } from '../bench/latency.js';
import { formatSummary } from '../bench/report-text.js';
import { hashmapSuite } from '../bench/hashmap.js';
import type { BenchRow } from '../bench/report.js';

const of = (values: number[]): LatencyHistogram => {
  const h = new LatencyHistogram();
  for (const v of values) h.recordNs(v);
  return h;
};

describe('the latency histogram', () => {
  it('buckets: exact below 32 ns, then 16 per power of two, contiguous and in order up to the last', () => {
    for (let v = 0; v < 32; v++) expect(bucketOf(v)).toBe(v);
    expect(bucketRange(bucketOf(32))).toEqual({ low: 32, width: 2 });
    expect(bucketRange(bucketOf(1000))).toEqual({ low: 992, width: 32 }); // [992, 1024)
    expect(bucketRange(bucketOf(1024))).toEqual({ low: 1024, width: 64 });
    // Every bucket starts where the previous one ended, and maps its own range back to itself.
    for (let b = 1; b < LATENCY_BUCKETS; b++) {
      const prev = bucketRange(b - 1);
      const cur = bucketRange(b);
      expect(cur.low, `bucket ${b}`).toBe(prev.low + prev.width);
      expect(bucketOf(cur.low)).toBe(b);
      expect(bucketOf(cur.low + cur.width - 1)).toBe(b);
      if (b >= 32) expect(cur.width / cur.low).toBeLessThanOrEqual(1 / 16); // (below 32 every bucket is exact)
    }
    expect(bucketOf(2 ** 31 - 1)).toBe(LATENCY_BUCKETS - 1);
    expect(bucketOf(60e9)).toBe(LATENCY_BUCKETS - 1); // a minute: clamped into the last bucket
    expect(bucketOf(-5)).toBe(0);
    expect(bucketOf(Number.NaN)).toBe(0);
  });

  it('percentiles of known inputs: nearest rank, the midpoint of the bucket that holds it', () => {
    const small = of(Array.from({ length: 20 }, (_, i) => i + 1)); // 1..20 ns, exact buckets
    expect(small.count).toBe(20);
    expect(small.percentileNs(0.5)).toBe(10);
    expect(small.percentileNs(0.95)).toBe(19);
    expect(small.percentileNs(1)).toBe(20);
    expect(small.percentileNs(0.01)).toBe(1);

    // 1..1000 ns: the 500th value (500) is in [496, 512), the 990th (990) in [960, 992).
    const h = of(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(h.percentileNs(0.5)).toBe(504);
    expect(h.percentileNs(0.99)).toBe(976);
    expect(h.percentileUs(0.99)).toBe(0.976);

    // 99 fast ops and one slow one: p99 is still fast, the maximum is the slow one's bucket.
    const tail = of([...Array.from({ length: 99 }, () => 200), 5_000_000]);
    expect(tail.percentileNs(0.99)).toBe(204); // [200, 208)
    const slow = bucketRange(bucketOf(5_000_000));
    expect(tail.percentileNs(1)).toBe(slow.low + slow.width / 2);
    expect(Math.abs(tail.percentileNs(1)! - 5_000_000) / 5_000_000).toBeLessThan(1 / 32);

    expect(new LatencyHistogram().percentileNs(0.5)).toBeUndefined();
    expect(() => h.percentileNs(0)).toThrow(RangeError);
    expect(() => h.percentileNs(1.5)).toThrow(RangeError);
  });

  it('recordMs takes a performance.now() difference', () => {
    const mid = (ns: number): number => bucketRange(bucketOf(ns)).low + bucketRange(bucketOf(ns)).width / 2;
    const h = new LatencyHistogram();
    h.recordMs(0.5); // 500 µs: bucket [491520, 507904) ns
    h.recordMs(2); // 2 ms
    expect(h.percentileNs(0.5)).toBe(499_712);
    expect(mid(5e5)).toBe(499_712);
    expect(h.percentileNs(1)).toBe(mid(2e6));
  });

  it('merging workers equals recording everything in one histogram', () => {
    const a = [3, 40, 700, 9000, 120_000];
    const b = [5, 41, 650, 2_000_000];
    const merged = of(a).merge(of(b).counts); // raw counts, as a worker sends them
    expect([...merged.counts]).toEqual([...of([...a, ...b]).counts]);
    expect(merged.count).toBe(9);
    expect(merged.percentileNs(0.5)).toBe(of([...a, ...b]).percentileNs(0.5));
    expect(() => merged.merge(new Float64Array(3))).toThrow(RangeError);
    expect(() => new LatencyHistogram(new Float64Array(10))).toThrow(RangeError);
  });

  it('row fields: read and write p50/p99 in µs, over every round given; none for a kind with no samples', () => {
    const r1 = { read: of([100, 100, 100, 100]).counts, write: of([10_000]).counts };
    const r2 = { read: of([100, 100, 100, 30_000]).counts, write: new LatencyHistogram().counts };
    expect(latencyFields([r1, r2])).toEqual({ readP50Us: 0.102, readP99Us: 30.2, writeP50Us: 9.98, writeP99Us: 9.98 });
    expect(latencyFields([{ read: r1.read, write: new LatencyHistogram().counts }])).toEqual({ readP50Us: 0.102, readP99Us: 0.102 });
  });
});

describe('latency in the reports', () => {
  const row = (system: string, threads: number, writeRatio: number, lat: Record<string, number>): BenchRow => ({
    suite: 'hashmap',
    workload: `w${Math.round(writeRatio * 100)}-uniform`,
    system,
    threads,
    opsPerSec: 1e6,
    writeRatio,
    dist: 'uniform',
    ...lat,
  });
  const rows = [
    row('nr', 2, 0.1, { readP50Us: 0.25, readP99Us: 1.5, writeP50Us: 3.25, writeP99Us: 812 }),
    row('nr', 8, 0.1, { readP50Us: 0.5, readP99Us: 2050, writeP50Us: 9.5, writeP99Us: 4100 }),
    row('nr', 2, 0, { readP50Us: 0.2, readP99Us: 0.4 }),
  ];

  it('the terminal summary has a table per latency figure', () => {
    const s = formatSummary(rows);
    const w10 = s.slice(s.indexOf('w10-uniform'));
    expect(w10).toMatch(/read latency p99 \(1 op in 32\), µs \(lower is better\)\n\s+system\s+2 thr\s+8 thr\n\s+-+\n\s+nr\s+1\.50\s+2\.05k/);
    expect(w10).toMatch(/write latency p99 \(1 op in 32\), µs \(lower is better\)\n\s+system\s+2 thr\s+8 thr\n\s+-+\n\s+nr\s+812\s+4\.10k/);
  });

  it('the markdown has a latency table for the 10 % write workloads only', () => {
    const md = hashmapSuite.markdown!(rows).join('\n');
    expect(md).toContain('#### Latency, w10-uniform (µs, 1 op in 32 timed: read p50 / p99 · write p50 / p99)');
    expect(md).toContain('| nr | 0.25 / 1.50 · 3.25 / 812 | 0.50 / 2.05k · 9.50 / 4.10k |');
    expect(md).not.toContain('#### Latency, w0-uniform');
  });
});
