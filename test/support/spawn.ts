/**
 * Spawns compiled test workers (from dist/: on Node 20 a Worker cannot run
 * TypeScript) and collects one message from each, with a hard time bound:
 * a run that does not finish in time terminates every worker and fails.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Path of a compiled worker script, e.g. workerPath('kv-worker'). */
export function workerPath(name: string): string {
  // Works both from test/support (vitest, TS) and dist/test/support (compiled).
  const base = path.basename(root) === 'dist' ? root : path.join(root, 'dist');
  return path.join(base, 'test', 'workers', `${name}.js`);
}

export async function runWorkers<I, O>(name: string, inputs: I[], timeoutMs: number): Promise<O[]> {
  const workers = inputs.map((input) => new Worker(workerPath(name), { workerData: input }));
  let timer: NodeJS.Timeout | undefined;
  try {
    const results = workers.map(
      (w, i) =>
        new Promise<O>((resolve, reject) => {
          w.once('message', (m: O) => resolve(m));
          w.once('error', reject);
          w.once('exit', (code) => reject(new Error(`worker ${i} exited (code ${code}) before reporting`)));
        }),
    );
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`workers did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    return await Promise.race([Promise.all(results), timeout]);
  } finally {
    clearTimeout(timer);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
