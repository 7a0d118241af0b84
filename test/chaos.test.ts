/**
 * Chaos stress: replicas on more threads than cores do mixed ops while a
 * controller terminate()s random workers at random moments (declaring some
 * dead, leaving the others to the fencing timeout) and starts new ones,
 * which join by state transfer. Bounded in time and ops. At the end the
 * survivors' states are identical, the history of every op (answered, or
 * pending when its thread died) is linearizable, and the final state holds
 * every acknowledged write that nothing later replaced.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createHandle, declareDead } from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';
import { checkKvLinearizable, type HistoryEvent, type KvOp } from './support/linearizability.js';
import { mulberry32 } from './support/prng.js';
import { workerPath } from './support/spawn.js';
import { CLOCK, RECORD, STOP, type ChaosInput } from './support/chaos-layout.js';

const LIVES = 24;
const CAPACITY = 3000;
const KEYS = 5;

interface Life {
  worker: Worker;
  life: number;
  slot: number;
  messages: Record<string, unknown>[];
  exited: boolean;
}

function waitFor(l: Life, key: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`life ${l.life}: no '${key}' within ${timeoutMs} ms`)), timeoutMs);
    const check = (): void => {
      const m = l.messages.find((x) => key in x);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      } else l.worker.once('message', check);
    };
    check();
  });
}

describe('chaos', () => {
  it('kills and restarts workers while 4 replicas on 2 cores write; survivors agree and the history is linearizable', async () => {
    const handle = createHandle(HashMap, { replicas: 4, maxReplicas: 16, logBytes: 16384, fenceAfterMs: 250 });
    const control = new SharedArrayBuffer(32 * 4);
    const ctl = new Int32Array(control);
    ctl[CLOCK] = 1;
    const history = new SharedArrayBuffer(LIVES * CAPACITY * RECORD * 4);
    const lives: Life[] = [];
    const start = async (life: number): Promise<Life> => {
      const input: ChaosInput = { handle, control, history, base: life * CAPACITY, capacity: CAPACITY, life, keys: KEYS };
      const worker = new Worker(workerPath('chaos-worker'), { workerData: input });
      const l: Life = { worker, life, slot: -1, messages: [], exited: false };
      worker.on('message', (m: Record<string, unknown>) => l.messages.push(m));
      worker.on('error', () => {});
      worker.on('exit', () => (l.exited = true));
      lives.push(l);
      l.slot = (await waitFor(l, 'ready')).slot as number;
      return l;
    };
    for (let i = 0; i < 4; i++) await start(i);

    const rand = mulberry32(4242);
    const deadline = Date.now() + 3000;
    let kills = 0;
    while (Date.now() < deadline && lives.length < LIVES) {
      await new Promise((r) => setTimeout(r, 100 + Math.floor(rand() * 200)));
      const alive = lives.filter((l) => !l.exited);
      const victim = alive[Math.floor(rand() * alive.length)]!;
      await victim.worker.terminate();
      kills++;
      // Half the time the manager declares the death; otherwise fencing has to find out.
      if (kills % 2 === 0) declareDead(handle, victim.slot);
      await start(lives.length);
    }
    Atomics.store(ctl, STOP, 1);
    const survivors = lives.filter((l) => !l.exited);
    await Promise.all(survivors.map((l) => waitFor(l, 'stopped')));
    for (const l of survivors) l.worker.postMessage('final');
    const finals = await Promise.all(survivors.map((l) => waitFor(l, 'digest')));
    await Promise.all(lives.map((l) => l.worker.terminate()));

    expect(kills).toBeGreaterThanOrEqual(5);
    expect(survivors.length).toBe(4);
    expect(new Set(finals.map((f) => f.digest)).size).toBe(1);

    // Rebuild the history from shared memory, killed lives included.
    const rec = new Int32Array(history);
    const events: HistoryEvent[] = [];
    // The survivors' final reads close the history: no acknowledged write may be missing.
    let late = Atomics.load(ctl, CLOCK) + 1;
    const values = finals[0]!.values as (number | null)[];
    values.forEach((v, k) => {
      events.push({ client: 1000, call: late++, ret: late++, op: { kind: 'get', key: `k${k}`, output: v ?? undefined } });
    });
    // Ops of killed threads that never got an answer end after everything else: they may
    // have taken effect at any point after their call, or (linearized last) not at all.
    let answered = 0;
    for (let life = 0; life < lives.length; life++) {
      for (let i = 0; i < CAPACITY; i++) {
        const at = (life * CAPACITY + i) * RECORD;
        const kind = rec[at]!;
        if (kind === 0) break;
        const key = `k${rec[at + 1]}`;
        const ret = Atomics.load(rec, at + 4);
        const tag = rec[at + 5]!;
        const output = tag === 0 ? undefined : tag === 1 ? rec[at + 6]! : tag === 3;
        const op: KvOp =
          kind === 1
            ? { kind: 'get', key, output: output as number | undefined }
            : kind === 2
              ? { kind: 'put', key, value: rec[at + 2]!, output: output as number | undefined }
              : { kind: 'delete', key, output: output as boolean };
        if (ret === 0) {
          if (kind !== 1) events.push({ client: life, call: rec[at + 3]!, ret: late++, op, pending: true });
        } else {
          answered++;
          events.push({ client: life, call: rec[at + 3]!, ret, op });
        }
      }
    }
    if (process.env.CHAOS_DEBUG) console.log({ kills, answered, events: events.length, stats: finals.map((f) => f.stats) });
    expect(answered).toBeGreaterThan(1000);
    const verdict = checkKvLinearizable(events);
    if (process.env.CHAOS_DEBUG && !verdict.ok) {
      const key = verdict.key!;
      const mine = events.filter((e) => e.op.key === key).sort((a, b) => a.ret - b.ret);
      console.log('final value', values[Number(key.slice(1))], 'last 12 ops by ret:');
      for (const e of mine.slice(-12)) console.log(JSON.stringify(e));
      const { writeFileSync } = await import('node:fs');
      writeFileSync('/tmp/chaos-history.json', JSON.stringify(events));
    }
    expect(verdict, verdict.reason).toMatchObject({ ok: true });
  });
});
