/**
 * A multi-log op's issuer killed (worker.terminate()) at each phase of the
 * op, on 3 logs: after reserving on log 1 with log 0's entry sealed, with
 * every entry sealed but the row pending, after the commit with the order
 * still held, and after giving the order back but before its own replay.
 * Declared dead (declareCnrThreadDead) or left to the bounds
 * (fenceAfterMs 100, deadAfterMs 200). The survivor in this thread asserts
 * the exact outcome: the op took effect everywhere (committed) or nowhere
 * (pending when it died, aborted), each log goes on (the torn entry on
 * log 1 repaired), multi-log ops go on (the order taken over), every op
 * within a bound, and the history with the dead op pending is linearizable.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { attachCnr, createCnrHandle, declareCnrThreadDead, keyHash } from '../src/nr/index.js';
import { HashMapCnr } from '../src/nr/structures/index.js';
import { checkLinearizable, type Operation } from '../src/lincheck/index.js';
import { cnrMapModel, type CnrOp } from './support/cnr-model.js';
import { workerPath } from './support/spawn.js';
import { GO, STALLED, type KillInput, type KillPhase } from './support/cnr-kill-layout.js';

const LOGS = 3;
/** One key per log. */
const KEYS = Array.from({ length: LOGS }, (_, log) => {
  for (let i = 0; ; i++) if (keyHash(`k${i}`) % LOGS === log) return `k${i}`;
});

const PHASES: [KillPhase, 'aborted' | 'committed'][] = [
  ['reserve-1', 'aborted'],
  ['appended', 'aborted'],
  ['committed', 'committed'],
  ['released', 'committed'],
];

describe('parallel logs: a multi-log op\'s issuer killed at every phase', () => {
  for (const [phase, outcome] of PHASES) {
    for (const declared of [true, false]) {
      it(`killed at '${phase}', ${declared ? 'declared dead' : 'not declared'}: the clear is ${outcome} on every log, every log and the order go on, linearizable`, async () => {
        const handle = createCnrHandle(HashMapCnr, { logs: LOGS, replicas: 2, logBytes: 8192, fenceAfterMs: 100, deadAfterMs: 200 });
        const survivor = attachCnr(handle, HashMapCnr);
        const history: Operation<CnrOp, unknown>[] = [];
        let clock = 1;
        const run = (input: CnrOp, f: () => unknown): unknown => {
          const call = clock++;
          const output = f();
          history.push({ client: 0, call, ret: clock++, input, output });
          return output;
        };
        KEYS.forEach((k, i) => run({ op: 'put', key: k, value: i }, () => survivor.writes.put(k, i)));
        const control = new SharedArrayBuffer(64 * 4);
        const words = new Int32Array(control);
        const w = new Worker(workerPath('cnr-kill-worker'), { workerData: { handle, control, phase } satisfies KillInput });
        const threadId = w.threadId;
        try {
          const ready = await new Promise<{ slot: number }>((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
            setTimeout(() => reject(new Error('the worker never attached')), 10_000);
          });
          expect(ready.slot).toBe(1);
          // The dead op's call: before GO; it never returns.
          history.push({ client: 1, call: clock++, input: { op: 'clear' } });
          Atomics.store(words, GO, 1);
          Atomics.notify(words, GO);
          const deadline = Date.now() + 10_000;
          while (Atomics.load(words, STALLED) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
          expect(Atomics.load(words, STALLED)).toBe(1);
        } finally {
          await w.terminate();
        }
        if (declared) expect(declareCnrThreadDead(handle, threadId)).toEqual([1]);

        const t0 = performance.now();
        // Reads see each log up to its completed tail, which the dead issuer never raised past its
        // entries: the old values either way. The survivor's puts append after those entries and
        // replay through them: each put's previous value says whether the clear took effect there.
        expect(KEYS.map((k) => run({ op: 'get', key: k }, () => survivor.reads.get(k)))).toEqual(KEYS.map((_, i) => i));
        const previous = KEYS.map((k, i) => run({ op: 'put', key: k, value: 10 + i }, () => survivor.writes.put(k, 10 + i)));
        expect(previous).toEqual(outcome === 'committed' ? KEYS.map(() => undefined) : KEYS.map((_, i) => i));
        expect(run({ op: 'size' }, () => survivor.reads.size())).toBe(LOGS);
        run({ op: 'clear' }, () => survivor.writes.clear());
        expect(run({ op: 'size' }, () => survivor.reads.size())).toBe(0);
        const took = performance.now() - t0;
        // Declared: nothing waits for the dead thread. Not declared: a few of its bounds (the pending
        // row, the held order, the torn entry each wait fenceAfterMs or deadAfterMs).
        expect(took).toBeLessThan(declared ? 1000 : 4000);
        expect(survivor.stats().logs.map((l) => l.status)).toEqual(['live', 'live', 'live']);
        survivor.detach();

        const verdict = checkLinearizable(cnrMapModel, history);
        expect(verdict.verdict, verdict.verdict === 'violation' ? verdict.explanation : undefined).toBe('linearizable');
      }, 30_000);
    }
  }
});

describe("parallel logs: a multi-log op's issuer stalled past fenceAfterMs at every phase, then resumed", () => {
  for (const [phase, outcome] of PHASES) {
    it(`stalled at '${phase}': the survivor goes on within the bound; the issuer's caller gets ${outcome === 'aborted' ? 'FencedError(committed: false), and the op took effect nowhere' : 'its result, the op took effect everywhere'}`, async () => {
      const handle = createCnrHandle(HashMapCnr, { logs: LOGS, replicas: 2, logBytes: 8192, fenceAfterMs: 100, deadAfterMs: 200 });
      const survivor = attachCnr(handle, HashMapCnr);
      KEYS.forEach((k, i) => survivor.writes.put(k, i));
      const control = new SharedArrayBuffer(64 * 4);
      const words = new Int32Array(control);
      const w = new Worker(workerPath('cnr-kill-worker'), { workerData: { handle, control, phase, resume: true } satisfies KillInput });
      try {
        const messages: Record<string, unknown>[] = [];
        let notify = (): void => {};
        w.on('message', (m: Record<string, unknown>) => (messages.push(m), notify()));
        w.once('error', (e) => messages.push({ error: String(e) }));
        const next = async (): Promise<Record<string, unknown>> => {
          const deadline = Date.now() + 10_000;
          while (messages.length === 0 && Date.now() < deadline) await new Promise<void>((r) => ((notify = r), setTimeout(r, 50)));
          return messages.shift() ?? { error: 'no message within 10 s' };
        };
        expect(await next()).toEqual({ slot: 1 });
        Atomics.store(words, GO, 1);
        Atomics.notify(words, GO);
        const deadline = Date.now() + 10_000;
        while (Atomics.load(words, STALLED) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
        expect(Atomics.load(words, STALLED)).toBe(1);
        // While the issuer stalls: every log and the order go on (its op aborted, or the order taken over).
        const t0 = performance.now();
        const previous = KEYS.map((k, i) => survivor.writes.put(k, 10 + i));
        expect(previous).toEqual(outcome === 'committed' ? KEYS.map(() => undefined) : KEYS.map((_, i) => i));
        expect(survivor.reads.size()).toBe(LOGS);
        expect(performance.now() - t0).toBeLessThan(4000);
        Atomics.store(words, GO, 2);
        Atomics.notify(words, GO);
        const end = await next();
        expect(end).toEqual(outcome === 'committed' ? { outcome: 'returned', stalled: true } : { outcome: 'FencedError', committed: false, stalled: true });
        // The stalled op never took effect later either: the survivor's values stand (or were cleared once, before them).
        survivor.sync();
        expect(KEYS.map((k) => survivor.reads.get(k))).toEqual(KEYS.map((_, i) => 10 + i));
        expect(survivor.reads.size()).toBe(LOGS);
      } finally {
        await w.terminate();
        survivor.detach();
      }
    }, 30_000);
  }
});
