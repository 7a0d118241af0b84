/**
 * Start/finish coordination for benchmark workers, over one small
 * SharedArrayBuffer. Waiting is async (waitAsync plus a keep-alive timer:
 * a pending waitAsync alone does not keep a Node thread alive) so that a
 * replica's event loop can still be nudged while it waits.
 *
 * Layout (Int32 words, one 64-byte line each): 0 READY count (set up),
 * 16 PREPARED count (caught up, measured), 32 ROUND (the harness raises it
 * to start measuring round n), 48 FINISHED count (rounds finished, summed
 * over workers).
 */
export const READY = 0;
export const PREPARED = 16;
export const ROUND = 32;
export const FINISHED = 48;

export function newCoordination(): SharedArrayBuffer {
  return new SharedArrayBuffer(64 * 4);
}

export async function waitUntilAtLeast(words: Int32Array, index: number, value: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = Atomics.load(words, index);
    if (seen >= value) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for word ${index} to reach ${value} (at ${seen})`);
    const r = Atomics.waitAsync(words, index, seen, 20);
    if (r.async) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([r.value, new Promise((res) => (timer = setTimeout(res, 20)))]);
      clearTimeout(timer);
    }
  }
}

export function arrive(words: Int32Array, index: number, by = 1): void {
  Atomics.add(words, index, by);
  Atomics.notify(words, index);
}
