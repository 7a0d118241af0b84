/**
 * Exactly-once completion under chaos. The main thread submits tasks in
 * waves while a seeded controller kills runner workers mid-task
 * (worker.terminate(), then declareDead on its replica slot, and either
 * evicts it or leaves its leases to expire), drains others (they finish and
 * leave), and shrinks or grows capacities; replacements join. At the end:
 * every task is done (or failed after its maximum attempts), no task was
 * recorded done twice (the attempt logs of the replicated state, and the
 * runners' own completion counts in shared memory), and no task ever had two
 * live owners at once (its attempts' op intervals are disjoint).
 */
import { describe, expect, it } from 'vitest';
import { declareDead } from '../src/nr/index.js';
import { createScheduler, openScheduler, type Task } from '../src/sched/index.js';
import { mulberry32 } from './support/prng.js';
import { startRunner, type RunnerWorker } from './support/sched-workers.js';

const TASKS = 1200;
const WAVES = 12;
const RUNNERS = 3;
const LEASE_MS = 250;

function checkHistory(tasks: Task[], audit: Int32Array): { done: number; failed: number } {
  let done = 0;
  let failed = 0;
  for (const t of tasks) {
    expect(['done', 'failed']).toContain(t.state);
    if (t.state === 'done') done++;
    else {
      failed++;
      expect(t.attempts).toBe(t.maxAttempts);
    }
    // One log entry per attempt; never two live attempts: each ended before the next began.
    expect(t.log.length).toBe(t.attempts);
    for (let i = 0; i < t.log.length; i++) {
      const a = t.log[i]!;
      expect(a.attempt).toBe(i + 1);
      expect(a.end).not.toBe('running');
      expect(a.to).toBeGreaterThanOrEqual(a.from);
      if (i > 0) expect(a.from).toBeGreaterThanOrEqual(t.log[i - 1]!.to);
    }
    // Done exactly once (state) and at most once by any runner (shared counts survive kills).
    expect(t.log.filter((a) => a.end === 'done').length).toBe(t.state === 'done' ? 1 : 0);
    expect(Atomics.load(audit, t.id)).toBeLessThanOrEqual(t.state === 'done' ? 1 : 0);
  }
  return { done, failed };
}

describe('sched chaos', () => {
  it('kills, drains and shrinks runner workers while tasks flow; every task completes exactly once', async () => {
    const rand = mulberry32(7);
    const handle = createScheduler({ kinds: ['work'], threads: 1 + RUNNERS, maxThreads: 32, fenceAfterMs: 300, policy: 'mws', spillAfterMs: 20 });
    const sched = openScheduler(handle, { retain: true });
    const audit = new SharedArrayBuffer(4 * (TASKS + 16));
    const auditWords = new Int32Array(audit);
    const live: RunnerWorker[] = [];
    const all: RunnerWorker[] = [];
    const spawn = async (): Promise<void> => {
      const w = await startRunner(handle, audit, 1 + Math.floor(rand() * 3), LEASE_MS);
      live.push(w);
      all.push(w);
    };
    let kills = 0;
    let drains = 0;
    let resizes = 0;
    try {
      for (let i = 0; i < RUNNERS; i++) await spawn();
      const results: Promise<number>[] = [];
      const outcomes: ('done' | 'failed')[] = [];
      for (let wave = 0; wave < WAVES; wave++) {
        for (let i = 0; i < TASKS / WAVES; i++) {
          const x = results.length;
          // Some tasks fail on their first attempt, some take a while (async), some spin (sync).
          const payload = { x, ms: rand() < 0.3 ? 1 + Math.floor(rand() * 4) : 0, spin: rand() < 0.05 ? 1 : 0, failFirst: rand() < 0.05 };
          const p = sched.submit<number>('work', payload, { maxAttempts: 6, backoffMs: 1 });
          results.push(p);
          p.then(
            (v) => {
              expect(v).toBe(x * 2);
              outcomes[x] = 'done';
            },
            () => (outcomes[x] = 'failed'),
          );
        }
        await new Promise((r) => setTimeout(r, 15 + rand() * 30));
        // One disturbance per wave.
        const victim = live[Math.floor(rand() * live.length)]!;
        const what = rand();
        if (what < 0.45) {
          // Killed mid-task (waiting, bounded, until it holds one): terminate, free its
          // log slot; evict it, or let its leases expire.
          const until = Date.now() + 1000;
          while ((sched.worker(victim.workerId)?.running ?? 0) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
          live.splice(live.indexOf(victim), 1);
          await victim.worker.terminate();
          declareDead(handle.nr, victim.slot);
          if (rand() < 0.5) await sched.evict(victim.workerId);
          kills++;
          await spawn();
        } else if (what < 0.7) {
          live.splice(live.indexOf(victim), 1);
          await sched.drain(victim.workerId);
          drains++;
          await spawn();
        } else {
          await sched.setCapacity(victim.workerId, Math.floor(rand() * 4)); // 0..3: shrink to nothing, or grow
          resizes++;
        }
        // Always keep some capacity somewhere.
        if (live.every((w) => (sched.worker(w.workerId)?.capacity ?? 0) === 0)) await sched.setCapacity(live[0]!.workerId, 2);
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(results),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`tasks unfinished: ${JSON.stringify(sched.summary())}`)), 45_000))),
      ]);
      clearTimeout(timer);
      expect(outcomes.filter(Boolean).length).toBe(TASKS);
      const tasks = sched.tasks();
      expect(tasks.length).toBe(TASKS);
      const { done, failed } = checkHistory(tasks, auditWords);
      expect(done + failed).toBe(TASKS);
      expect(outcomes.filter((o) => o === 'done').length).toBe(done);
      // Kills happened mid-task: some attempts were lost and retried.
      const sum = sched.summary();
      expect(kills + drains + resizes).toBe(WAVES);
      expect(kills).toBeGreaterThan(0);
      const lost = tasks.reduce((n, t) => n + t.log.filter((a) => a.end === 'evicted' || a.end === 'expired').length, 0);
      if (process.env.SCHED_DEBUG) console.log({ kills, drains, resizes, done, failed, lost, counts: sum.counts });
      expect(lost).toBeGreaterThan(0);
      // Replicas agree: stop the runners, then a replica that joins now (by state transfer) holds the same state.
      await Promise.all(live.map((w) => w.worker.terminate()));
      const late = openScheduler(handle);
      try {
        sched.replica.sync();
        late.replica.sync();
        expect(late.replica.digest()).toBe(sched.replica.digest());
        expect(late.tasks().length).toBe(TASKS);
      } finally {
        late.close();
      }
    } finally {
      await Promise.all(all.map((w) => w.worker.terminate()));
      sched.close();
    }
  }, 90_000);
});
