/**
 * The timed loop a test site's replica runs for bench/cluster.ts (the
 * hashmap's and the KV's replica workers): `inflight` loops of random ops
 * over `keys` keys until `ms` pass; ops done, errors, and the write
 * latencies' p50/p99 (call to this replica's result: publish, ack, apply).
 */
import { mulberry32 } from './prng.js';

export interface BenchCmd {
  ms: number;
  keys: number;
  inflight: number;
  writeRatio: number;
  consistency: 'linearizable' | 'sequential';
  seed: number;
}

export interface BenchTarget {
  write(key: string): Promise<unknown>;
  /** A read with the run's consistency: a promise, or (a sequential read of a local replica) the value itself. */
  read(key: string, consistency: BenchCmd['consistency']): unknown;
}

export async function benchLoop(c: BenchCmd, t: BenchTarget): Promise<{ ops: number; errors: number; writes: number; p50: number | null; p99: number | null }> {
  const rand = mulberry32(c.seed);
  const end = performance.now() + c.ms;
  let ops = 0;
  let errors = 0;
  const lat: number[] = [];
  const one = async (): Promise<void> => {
    let n = 0;
    while (performance.now() < end) {
      const key = `k${Math.floor(rand() * c.keys)}`;
      try {
        if (rand() < c.writeRatio) {
          const t0 = performance.now();
          await t.write(key);
          lat.push(performance.now() - t0);
        } else {
          const v = t.read(key, c.consistency);
          if (v instanceof Promise) await v;
          // Sequential reads never wait on the network: yield now and then so the event loop (replies, nudges) runs.
          if (c.consistency === 'sequential' && (++n & 63) === 0) await new Promise<void>((res) => setImmediate(res));
        }
        ops++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: c.inflight }, one));
  lat.sort((a, b) => a - b);
  const q = (p: number): number | null => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]! : null);
  return { ops, errors, writes: lat.length, p50: q(0.5), p99: q(0.99) };
}
