/**
 * Shared harness pieces: spawning compiled benchmark workers with a time
 * bound, and a description of the machine for the JSON.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type TransferListItem } from 'node:worker_threads';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface Spawned<O> {
  worker: Worker;
  result: Promise<O>;
}

/** Start a compiled worker from this directory (dist/bench). */
export function spawn<I, O>(script: string, input: I, transfer: TransferListItem[] = []): Spawned<O> {
  const worker = new Worker(path.join(here, `${script}.js`), { workerData: input, transferList: transfer });
  const result = new Promise<O>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`${script} exited with code ${code} before reporting`)));
  });
  return { worker, result };
}

/** Resolve with every result, or reject (and terminate all) after timeoutMs. */
export async function collect<O>(spawned: Spawned<O>[], timeoutMs: number): Promise<O[]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`benchmark workers did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    return await Promise.race([Promise.all(spawned.map((s) => s.result)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function terminateAll(spawned: Spawned<unknown>[]): Promise<void> {
  // Workers that never report (the postmessage owner) reject on exit: expected.
  for (const s of spawned) s.result.catch(() => {});
  await Promise.all(spawned.map((s) => s.worker.terminate()));
}

export function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    totalMemGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAvg: os.loadavg().map((l) => Math.round(l * 100) / 100),
    date: new Date().toISOString(),
  };
}
