/** What the kv test files share besides worker calls: per-test cleanup, and the typed error a call must throw. */
import type { Worker } from 'node:worker_threads';
import { afterEach } from 'vitest';
import type { KvStore } from '../../src/kv/index.js';

/**
 * Lists a test file pushes the replicas and workers it opens onto; after
 * each test every replica is detached (a fail-stopped one may throw: its
 * keys are zeroed regardless) and every worker terminated.
 */
export function cleanedAfterEach(): { stores: KvStore[]; workers: Worker[] } {
  const stores: KvStore[] = [];
  const workers: Worker[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) {
      try {
        s.detach();
      } catch {
        // a fail-stopped replica is already detached
      }
    }
    await Promise.all(workers.splice(0).map((w) => w.terminate()));
  });
  return { stores, workers };
}

/** The error `f` throws, which must be a `type`; a value, or another error, fails the test. */
export function thrownBy<E extends Error>(type: abstract new (...args: never[]) => E, f: () => unknown): E {
  try {
    f();
  } catch (e) {
    if (e instanceof type) return e;
    throw e;
  }
  throw new Error(`expected a ${type.name}, got a value`);
}
