/**
 * Waiting on worker threads with a time bound: the next message of a
 * worker (its listeners removed either way, so a test that waits many
 * times adds none), and a condition on shared memory polled every 2 ms.
 */
import type { Worker } from 'node:worker_threads';

export function message<T>(w: Worker, timeoutMs = 20_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const fail = (e: Error): void => {
      clearTimeout(t);
      w.off('message', done);
      reject(e);
    };
    const done = (m: T): void => {
      clearTimeout(t);
      w.off('error', fail);
      resolve(m);
    };
    const t = setTimeout(() => fail(new Error('the worker did not answer in time')), timeoutMs);
    w.once('message', done);
    w.once('error', fail);
  });
}

export async function until(f: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
