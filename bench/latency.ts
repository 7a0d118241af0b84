/**
 * Per-op latency for the benchmarks: a fixed-bucket, log-scale histogram
 * of nanoseconds that a worker fills cheaply inside its timed loop and the
 * harness merges across workers (its counts are one Float64Array, which
 * travels through postMessage as is).
 *
 * Buckets (log-linear, as HdrHistogram does with 4 significant bits):
 * values 0..31 ns each have their own bucket (exact); above that every
 * power of two [2^e, 2^(e+1)) is cut into SUB = 16 equal buckets, so a
 * bucket is at most 1/16 of its lower bound wide. A percentile reports the
 * midpoint of the bucket that holds the ranked value: within ±3.2 % of the
 * true value. Values at or past 2^31 ns (2.1 s) land in the last bucket.
 */

/** Sub-buckets per power of two. */
const SUB_BITS = 4;
const SUB = 1 << SUB_BITS;
/** Values below this have a bucket each. */
const EXACT = 2 * SUB;
/** Bits of the largest value with a bucket of its own range: 2^31 ns. */
const TOP_BITS = 31;
export const LATENCY_BUCKETS = EXACT + (TOP_BITS - SUB_BITS - 1) * SUB;

/**
 * Sample one op in this many (op index `i` with `(i & LATENCY_SAMPLE_MASK) === 0`).
 * The sampled loop costs ~50 more machine instructions per op than the
 * unsampled one (190 → 238 for an nr read), and about as much at 1 in
 * 256 (242): the cost is the loop's shape, not the clock (BENCHMARKS.md).
 */
export const LATENCY_SAMPLE_EVERY = 32;
export const LATENCY_SAMPLE_MASK = LATENCY_SAMPLE_EVERY - 1;

/** The bucket of a value in ns (fractions are truncated, negatives count as 0). */
export function bucketOf(ns: number): number {
  if (!(ns >= EXACT)) return ns > 0 ? ns | 0 : 0;
  if (ns >= 2 ** TOP_BITS) return LATENCY_BUCKETS - 1;
  const v = ns | 0;
  const e = 31 - Math.clz32(v); // 2^e <= v < 2^(e+1), e >= SUB_BITS + 1
  return EXACT + (e - SUB_BITS - 1) * SUB + ((v >>> (e - SUB_BITS)) & (SUB - 1));
}

/** The lowest value (ns) of a bucket and its width. */
export function bucketRange(b: number): { low: number; width: number } {
  if (b < EXACT) return { low: b, width: 1 };
  const e = ((b - EXACT) >> SUB_BITS) + SUB_BITS + 1;
  const width = 2 ** (e - SUB_BITS);
  return { low: 2 ** e + (b & (SUB - 1)) * width, width };
}

export class LatencyHistogram {
  readonly counts: Float64Array;

  constructor(counts: Float64Array = new Float64Array(LATENCY_BUCKETS)) {
    if (counts.length !== LATENCY_BUCKETS) throw new RangeError(`a latency histogram has ${LATENCY_BUCKETS} buckets, got ${counts.length}`);
    this.counts = counts;
  }

  /** Record one op that took `ms` milliseconds (a performance.now() difference). */
  recordMs(ms: number): void {
    this.counts[bucketOf(ms * 1e6)]!++;
  }

  recordNs(ns: number): void {
    this.counts[bucketOf(ns)]!++;
  }

  /** Add another histogram's counts (or a worker's raw counts) into this one. */
  merge(other: LatencyHistogram | Float64Array): this {
    const c = other instanceof LatencyHistogram ? other.counts : other;
    if (c.length !== LATENCY_BUCKETS) throw new RangeError(`cannot merge ${c.length} buckets into ${LATENCY_BUCKETS}`);
    for (let b = 0; b < LATENCY_BUCKETS; b++) this.counts[b]! += c[b]!;
    return this;
  }

  get count(): number {
    let n = 0;
    for (let b = 0; b < LATENCY_BUCKETS; b++) n += this.counts[b]!;
    return n;
  }

  /**
   * The q-quantile (0 < q <= 1) in ns, nearest rank: the midpoint of the
   * bucket holding the ceil(q × count)-th smallest value (exact below 32 ns).
   * Undefined when nothing was recorded.
   */
  percentileNs(q: number): number | undefined {
    if (!(q > 0 && q <= 1)) throw new RangeError(`a quantile is in (0, 1], got ${q}`);
    const n = this.count;
    if (n === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * n));
    let seen = 0;
    for (let b = 0; b < LATENCY_BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) {
        const { low, width } = bucketRange(b);
        return width === 1 ? low : low + width / 2;
      }
    }
    return undefined; // unreachable: rank <= n
  }

  /** The q-quantile in µs, rounded to 3 significant digits (for a bench row). */
  percentileUs(q: number): number | undefined {
    const ns = this.percentileNs(q);
    return ns === undefined ? undefined : Number((ns / 1000).toPrecision(3));
  }
}

/** The read and write latencies of one measured round of one worker. */
export interface RoundLatency {
  read: Float64Array;
  write: Float64Array;
}

export function newRoundLatency(): { read: LatencyHistogram; write: LatencyHistogram } {
  return { read: new LatencyHistogram(), write: new LatencyHistogram() };
}

/** Merge rounds (of any workers) into read and write histograms. */
export function mergeRounds(rounds: Iterable<RoundLatency>): { read: LatencyHistogram; write: LatencyHistogram } {
  const out = newRoundLatency();
  for (const r of rounds) {
    out.read.merge(r.read);
    out.write.merge(r.write);
  }
  return out;
}

/** The row fields: read and write p50/p99 in µs, only those that have samples. */
export function latencyFields(rounds: Iterable<RoundLatency>): Record<string, number> {
  const { read, write } = mergeRounds(rounds);
  const out: Record<string, number> = {};
  for (const [name, h] of [['read', read], ['write', write]] as const) {
    const p50 = h.percentileUs(0.5);
    const p99 = h.percentileUs(0.99);
    if (p50 !== undefined) out[`${name}P50Us`] = p50;
    if (p99 !== undefined) out[`${name}P99Us`] = p99;
  }
  return out;
}
