/**
 * Chaos stress: replicas on piscina pool threads (more than cores) do mixed
 * ops while a controller terminate()s random pool threads at random moments
 * (declaring some dead, leaving the others to the fencing timeout); piscina
 * replaces each thread and a new life starts there, joining by state
 * transfer. Bounded in time and ops. At the end the
 * survivors' states are identical, the history of every op (answered, or
 * pending when its thread died) is linearizable, and the final state holds
 * every acknowledged write that nothing later replaced.
 */
import { describe, expect, it } from 'vitest';
import { createHandle, declareDead } from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';
import { CLOCK, LIVES_AT, RECORD, type ChaosInput } from './support/chaos-layout.js';
import { runChaosLives } from './support/chaos-driver.js';
import { checkLinearizable, hashMapModel, type HashMapInput, type HashMapOperation } from '../src/lincheck/index.js';

const THREADS = 4;
const KILLS = 10;
const LIVES = 4 + KILLS;
const CAPACITY = 3000;
const KEYS = 5;

describe('chaos', () => {
  it('kills and restarts pool threads while 4 replicas on 2 cores write; survivors agree and the history is linearizable', async () => {
    const handle = createHandle(HashMap, { replicas: THREADS, maxReplicas: 16, logBytes: 16384, fenceAfterMs: 250 });
    const control = new SharedArrayBuffer((LIVES_AT + 2 * LIVES) * 4);
    const ctl = new Int32Array(control);
    ctl[CLOCK] = 1;
    const history = new SharedArrayBuffer(LIVES * CAPACITY * RECORD * 4);
    const { kills, lives, finals } = await runChaosLives({
      task: 'chaos-task',
      threads: THREADS,
      kills: KILLS,
      ctl,
      input: (life): ChaosInput => ({ handle, control, history, base: life * CAPACITY, capacity: CAPACITY, life, keys: KEYS, survivors: THREADS }),
      declareDead: (slot) => declareDead(handle, slot),
    });

    expect(kills).toBe(KILLS);
    expect(finals.length).toBe(THREADS);
    expect(new Set(finals.map((f) => f.digest)).size).toBe(1);

    // Rebuild the history from shared memory, killed lives included.
    const rec = new Int32Array(history);
    const events: HashMapOperation<number>[] = [];
    // The survivors' final reads close the history: no acknowledged write may be missing.
    let late = Atomics.load(ctl, CLOCK) + 1;
    const values = finals[0]!.values as (number | null)[];
    values.forEach((v, k) => {
      events.push({ client: 1000, call: late++, ret: late++, input: { op: 'get', key: `k${k}` }, output: v ?? undefined });
    });
    // Ops of killed threads that never got an answer are pending: they may have taken
    // effect at any point after their call, or not at all.
    let answered = 0;
    for (let life = 0; life < lives; life++) {
      for (let i = 0; i < CAPACITY; i++) {
        const at = (life * CAPACITY + i) * RECORD;
        const kind = Atomics.load(rec, at);
        if (kind === 0) break;
        const key = `k${rec[at + 1]}`;
        const ret = Atomics.load(rec, at + 4);
        const tag = rec[at + 5]!;
        const output = tag === 0 ? undefined : tag === 1 ? rec[at + 6]! : tag === 3;
        const input: HashMapInput<number> = kind === 1 ? { op: 'get', key } : kind === 2 ? { op: 'put', key, value: rec[at + 2]! } : { op: 'delete', key };
        if (ret === 0) {
          events.push({ client: life, call: rec[at + 3]!, input });
        } else {
          answered++;
          events.push({ client: life, call: rec[at + 3]!, ret, input, output });
        }
      }
    }
    if (process.env.CHAOS_DEBUG) console.log({ kills, answered, events: events.length, ops: finals.map((f) => f.ops) });
    expect(answered).toBeGreaterThan(1000);
    const verdict = checkLinearizable(hashMapModel<number>(), events);
    if (process.env.CHAOS_DEBUG && verdict.verdict === 'violation') {
      const key = verdict.partition as string;
      console.log(verdict.explanation);
      const mine = events.filter((e) => e.input.key === key).sort((a, b) => (a.ret ?? Infinity) - (b.ret ?? Infinity));
      console.log('final value', values[Number(key.slice(1))], 'last 12 ops by ret:');
      for (const e of mine.slice(-12)) console.log(JSON.stringify(e));
      const { writeFileSync } = await import('node:fs');
      writeFileSync('/tmp/chaos-history.json', JSON.stringify(events));
    }
    expect(verdict, verdict.verdict === 'violation' ? verdict.explanation : undefined).toMatchObject({ verdict: 'linearizable' });
  });
});
