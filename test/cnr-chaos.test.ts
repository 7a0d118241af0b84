/**
 * Chaos stress on parallel logs (the twin of chaos.test.ts, on 3 logs with
 * multi-log ops): replicas on piscina pool threads (more than cores) do mixed
 * ops while a controller terminate()s random pool threads at random moments
 * (declaring some dead, leaving the others to the fencing timeout); piscina
 * replaces each thread and a new life starts there, joining by state
 * transfer. Bounded in time and ops. At the end the
 * survivors' states are identical, the history of every op (answered, or
 * pending when its thread died) is linearizable, and the final state holds
 * every acknowledged write that nothing later replaced.
 */
import { describe, expect, it } from 'vitest';
import { createCnrHandle, declareCnrDead } from '../src/nr/index.js';
import { HashMapCnr } from '../src/nr/structures/index.js';
import { CLOCK, LIVES_AT, RECORD, type CnrChaosInput } from './support/chaos-layout.js';
import { runChaosLives } from './support/chaos-driver.js';
import { checkLinearizable, type Operation } from '../src/lincheck/index.js';
import { cnrMapModel, type CnrOp } from './support/cnr-model.js';

const THREADS = 4;
const KILLS = 8;
const LIVES = 4 + KILLS;
const CAPACITY = 500;
const KEYS = 5;

describe('chaos on parallel logs', () => {
  it('kills and restarts pool threads while 4 replicas of 3 logs on 2 cores write and issue multi-log ops; survivors agree and the history is linearizable', async () => {
    const started = performance.now();
    const handle = createCnrHandle(HashMapCnr, { logs: 3, replicas: THREADS, maxReplicas: 16, logBytes: 16384, fenceAfterMs: 250 });
    const control = new SharedArrayBuffer((LIVES_AT + 2 * LIVES) * 4);
    const ctl = new Int32Array(control);
    ctl[CLOCK] = 1;
    const history = new SharedArrayBuffer(LIVES * CAPACITY * RECORD * 4);
    const { kills, lives, finals } = await runChaosLives({
      task: 'cnr-chaos-task',
      threads: THREADS,
      kills: KILLS,
      ctl,
      input: (life): CnrChaosInput => ({ handle, control, history, base: life * CAPACITY, capacity: CAPACITY, life, keys: KEYS, survivors: THREADS, multiShare: 0.03 }),
      declareDead: (slot) => declareCnrDead(handle, slot),
    });

    expect(kills).toBe(KILLS);
    expect(finals.length).toBe(THREADS);
    expect(new Set(finals.map((f) => f.digest)).size).toBe(1);

    // Rebuild the history from shared memory, killed lives included.
    const rec = new Int32Array(history);
    const events: Operation<CnrOp, unknown>[] = [];
    // The survivors' final reads close the history: no acknowledged write may be missing.
    let late = Atomics.load(ctl, CLOCK) + 1;
    const values = finals[0]!.values as (number | null)[];
    values.forEach((v, k) => {
      events.push({ client: 1000, call: late++, ret: late++, input: { op: 'get', key: `k${k}` }, output: v ?? undefined });
    });
    // Ops of killed threads that never got an answer are pending: they may have taken
    // effect at any point after their call, or not at all.
    let answered = 0;
    let multi = 0;
    let aborted = 0;
    for (let life = 0; life < lives; life++) {
      for (let i = 0; i < CAPACITY; i++) {
        const at = (life * CAPACITY + i) * RECORD;
        const kind = Atomics.load(rec, at);
        if (kind === 0) break;
        const key = `k${rec[at + 1]}`;
        const ret = Atomics.load(rec, at + 4);
        const tag = rec[at + 5]!;
        if (ret !== 0 && tag === 9) {
          aborted++; // refused by the order table: took effect nowhere
          continue;
        }
        const output = tag === 0 ? undefined : tag === 1 ? rec[at + 6]! : tag === 3;
        const input: CnrOp =
          kind === 1 ? { op: 'get', key } : kind === 2 ? { op: 'put', key, value: rec[at + 2]! } : kind === 3 ? { op: 'delete', key } : kind === 4 ? { op: 'size' } : { op: 'clear' };
        if (kind >= 4) multi++;
        if (ret === 0) {
          events.push({ client: life, call: rec[at + 3]!, input });
        } else {
          answered++;
          events.push({ client: life, call: rec[at + 3]!, ret, input, output });
        }
      }
    }
    if (process.env.CHAOS_DEBUG) console.log({ kills, answered, multi, aborted, events: events.length, ops: finals.map((f) => f.ops) });
    expect(answered).toBeGreaterThan(1000);
    expect(multi).toBeGreaterThan(10);
    const t0 = performance.now();
    const verdict = checkLinearizable(cnrMapModel, events);
    if (process.env.CHAOS_DEBUG) console.log('check ms', performance.now() - t0, 'run ms', t0 - started);
    if (process.env.CHAOS_DEBUG && verdict.verdict === 'violation') {
      console.log(verdict.explanation);
      const { writeFileSync } = await import('node:fs');
      writeFileSync('/tmp/cnr-chaos-history.json', JSON.stringify(events));
    }
    expect(verdict, verdict.verdict === 'violation' ? verdict.explanation : undefined).toMatchObject({ verdict: 'linearizable' });
  });
});
