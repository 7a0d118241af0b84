/**
 * The chaos tests' controller (chaos.test.ts, cnr-chaos.test.ts): lives of
 * a chaos task on a pinned piscina pool (one per thread, more threads than
 * cores), a fixed number of seeded kills (terminate() of the life's thread,
 * every other one declared dead, the rest left to fencing), a new life
 * started on the replaced thread after each, then the stop flag and the
 * survivors' results. Bounded: the kills and their pauses are fixed.
 */
import { Piscina } from 'piscina';
import { pinnedLoadBalancer, pinnedTask } from '../../src/nr/index.js';
import { LIVES_AT, STOP, type ChaosResult } from './chaos-layout.js';
import { mulberry32 } from './prng.js';
import { workerPath } from './spawn.js';

export interface ChaosLives<I extends object> {
  /** The task's worker (test/workers/NAME). */
  task: string;
  threads: number;
  kills: number;
  /** The control words (chaos-layout.ts): each life publishes its thread id and slot + 1 there. */
  ctl: Int32Array;
  /** The input of life `life`. */
  input: (life: number) => I;
  /** Tell the handle that the replica in `slot` is dead (half the kills). */
  declareDead: (slot: number) => void;
}

/** Run the lives and the kills; resolves with the number of kills and of lives, and the survivors' results. */
export async function runChaosLives<I extends object>(run: ChaosLives<I>): Promise<{ kills: number; lives: number; finals: ChaosResult[] }> {
  const { ctl, threads } = run;
  // Each life is one piscina task; the first one on each thread is pinned to it.
  const pool = new Piscina({
    filename: workerPath(run.task),
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 60_000,
    atomics: 'disabled',
    loadBalancer: pinnedLoadBalancer as never,
  });
  const results: Promise<ChaosResult>[] = [];
  const alive = new Set<number>();
  let lives = 0;
  const start = async (pinTo?: number): Promise<void> => {
    const life = lives++;
    const input = run.input(life);
    const p = pool.run(pinTo === undefined ? input : pinnedTask(input, pinTo)) as Promise<ChaosResult>;
    p.catch((e: unknown) => {
      if (process.env.CHAOS_DEBUG) console.log('life', life, 'rejected:', String(e)); // a killed life's task rejects
    });
    results[life] = p;
    alive.add(life);
    // Started once it has published its thread and slot.
    const deadline = Date.now() + 30_000;
    while (Atomics.load(ctl, LIVES_AT + 2 * life + 1) === 0) {
      if (Date.now() > deadline) throw new Error(`life ${life} did not start`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  for (let i = 0; i < threads; i++) await start(i);

  // A fixed number of kills at seeded random moments: bounded, and the same every run.
  const rand = mulberry32(4242);
  let kills = 0;
  while (kills < run.kills) {
    await new Promise((r) => setTimeout(r, 100 + Math.floor(rand() * 200)));
    const victims = [...alive];
    const life = victims[Math.floor(rand() * victims.length)]!;
    const thread = pool.threads.find((t) => t.threadId === Atomics.load(ctl, LIVES_AT + 2 * life));
    if (!thread) throw new Error(`life ${life} has no thread`);
    await thread.terminate();
    alive.delete(life);
    kills++;
    // Half the time the manager declares the death; otherwise fencing has to find out.
    if (kills % 2 === 0) run.declareDead(Atomics.load(ctl, LIVES_AT + 2 * life + 1) - 1);
    await start(); // piscina replaced the thread; the new life goes to the idle one
  }
  Atomics.store(ctl, STOP, 1);
  const finals = await Promise.all([...alive].map((life) => results[life]!));
  await pool.destroy();
  return { kills, lives, finals };
}
