/**
 * Task of the `resilience` suite (a piscina task, one per pool thread):
 * attaches a HashMap replica and reports its thread, slot, join stats and the join's CPU on
 * `port`; then (mode 'write') writes windows of 64 async puts until the STOP
 * word is set, adding its ops to the shared TOTAL, or (mode 'idle') stays
 * attached with a free event loop until its thread is terminated.
 * Layout of `control` (Int32, one line each): 0 TOTAL acknowledged ops, 16 STOP, 32 FENCED writes (failed with FencedError).
 */
import { threadId, type MessagePort } from 'node:worker_threads';
import { attach, FencedError, type NrHandle } from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';
import { threadCpuMs } from './process-cpu.js';

export interface ResilienceWorkerInput {
  handle: NrHandle;
  control: SharedArrayBuffer;
  mode: 'idle' | 'write';
  seed: number;
  port: MessagePort;
}

export default async function resilienceTask(input: ResilienceWorkerInput): Promise<void> {
  const ctl = new Int32Array(input.control);
  const t0 = performance.now();
  const c0 = threadCpuMs();
  const r = attach(input.handle, HashMap);
  const joinCpuMs = threadCpuMs() - c0;
  const joinMs = performance.now() - t0;
  input.port.postMessage({ ready: true, thread: threadId, slot: r.id, joinMs, joinCpuMs, stats: r.stats() });
  if (input.mode === 'idle') {
    await new Promise(() => setInterval(() => {}, 1 << 30)); // until the thread is terminated
  }
  let i = input.seed * 1_000_003;
  while (Atomics.load(ctl, 16) === 0) {
    const window: Promise<unknown>[] = [];
    for (let j = 0; j < 64; j++, i++) window.push(r.writeAsync('put', i % 100_000, i));
    // Under chaos a live writer can be fenced too (a 200 ms fenceAfterMs on a loaded machine): its window
    // fails with FencedError and the replica recovers on its next op. Only acknowledged writes count.
    const settled = await Promise.allSettled(window);
    const done = settled.filter((s) => s.status === 'fulfilled').length;
    const bad = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && !(s.reason instanceof FencedError));
    if (bad) throw bad.reason;
    Atomics.add(ctl, 0, done);
    if (done < window.length) Atomics.add(ctl, 32, window.length - done);
  }
  r.detach();
  input.port.close();
}
