/**
 * Workload generation for the benchmarks: seeded key streams (uniform or
 * YCSB zipfian, constant 0.99, scrambled so hot keys are spread over the
 * key space) and write masks, precomputed so that generating an op costs an
 * array read inside the timed loop.
 */
export type Dist = 'uniform' | 'zipfian';

/** Ops an nr-clients client keeps in flight (its handle gives it this many slots). */
export const CLIENT_WINDOW = 128;

/** Stream length: a power of two, indexed with a mask. */
export const STREAM = 1 << 16;

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Zipfian sampler over [0, n) as in YCSB's ZipfianGenerator (Gray et al.). */
export function zipfian(n: number, theta: number, rand: () => number): () => number {
  let zetan = 0;
  for (let i = 1; i <= n; i++) zetan += 1 / Math.pow(i, theta);
  const zeta2 = 1 + 1 / Math.pow(2, theta);
  const alpha = 1 / (1 - theta);
  const eta = (1 - Math.pow(2 / n, 1 - theta)) / (1 - zeta2 / zetan);
  return () => {
    const u = rand();
    const uz = u * zetan;
    if (uz < 1) return 0;
    if (uz < zeta2) return 1;
    return Math.min(n - 1, Math.floor(n * Math.pow(eta * u - eta + 1, alpha)));
  };
}

/** FNV-1a of an integer, to scatter zipfian ranks over the key space. */
function scramble(i: number, n: number): number {
  let h = 0x811c9dc5;
  for (let b = 0; b < 4; b++) {
    h ^= (i >>> (b * 8)) & 0xff;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % n;
}

export function keyStream(dist: Dist, keys: number, seed: number): Int32Array {
  const rand = mulberry32(seed);
  const out = new Int32Array(STREAM);
  if (dist === 'uniform') {
    for (let i = 0; i < STREAM; i++) out[i] = Math.floor(rand() * keys);
  } else {
    const next = zipfian(keys, 0.99, rand);
    for (let i = 0; i < STREAM; i++) out[i] = scramble(next(), keys);
  }
  return out;
}

/** 1 where the op is a write, with the given ratio. */
export function writeMask(writeRatio: number, seed: number): Uint8Array {
  const rand = mulberry32(seed ^ 0x5bd1e995);
  const out = new Uint8Array(STREAM);
  for (let i = 0; i < STREAM; i++) out[i] = rand() < writeRatio ? 1 : 0;
  return out;
}
