/**
 * Regression tests for issue 11 ("NR core you can trust"): one `it` per
 * failure the independent kill-stress found, on real worker threads and
 * the public API only (raw log words are read through support/log-peek.ts).
 * Each was written before its fix and failed on the code of that day (see
 * the report in docs/nr.md); every wait is bounded, so a hang fails the test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as nr from '../src/nr/index.js';
import { attach, connect, createHandle, declareDead, NodeGoneError, NrError, type NrHandle } from '../src/nr/index.js';
import { ahead, peekLog, peekSlot, SLOT_STATE } from './support/log-peek.js';
import { mulberry32 } from './support/prng.js';
import { Trust } from './support/trust-structure.js';
import { startTrustNode, terminateAll, TimedOut, valueOf, withDeadline, type TrustNode } from './support/trust-worker.js';
import type { ErrorInfo, TrustReply } from './support/trust-protocol.js';

afterEach(terminateAll);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `cond` every 5 ms until true, or fail after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new TimedOut(`${what} did not happen within ${ms} ms`);
    await sleep(5);
  }
}

/** Samples CTAIL and TAIL every few ms; records whether CTAIL was ever beyond TAIL. */
function watchCtail(handle: NrHandle): { stop(): void; worst: () => { ctail: number; tail: number } | null } {
  let worst: { ctail: number; tail: number } | null = null;
  const t = setInterval(() => {
    const { tail, ctail } = peekLog(handle);
    if (ahead(ctail, tail) > 0 && worst === null) worst = { ctail, tail };
  }, 2);
  return { stop: () => clearInterval(t), worst: () => worst };
}

async function startReplica(handle: NrHandle, options: Record<string, unknown> = {}, control?: SharedArrayBuffer): Promise<TrustNode & { slot: number }> {
  const node = await startTrustNode(handle, control);
  const slot = valueOf(await node.call({ cmd: 'attach', options }, 15_000)) as number;
  return Object.assign(node, { slot });
}

describe('issue 11, item 1: a lapped, fenced replica', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: a replica whose first apply outlasts fenceAfterMs while the writer laps a 4 KiB log recovers; CTAIL stays at or before TAIL; nothing is lost`, async () => {
      const handle = createHandle(Trust, { replicas: 2, logBytes: 4096, fenceAfterMs: 5 });
      const r = await startReplica(handle);
      const w = await startReplica(handle);
      valueOf(await r.call({ cmd: 'slowness', slowness: { slowApplies: true } }));
      const watch = watchCtail(handle);
      try {
        // W appends the slow op (fast in W's thread) and a few puts; R then catches up through all of
        // them as part of its own slow write, so its replay runs on past the first entry.
        valueOf(await w.call({ cmd: 'write', op: 'slow', args: [300] }));
        const before: [string, string][] = [0, 1, 2, 3, 4].map((i) => [`p${i}`, `before-${i}`]);
        valueOf(await w.call({ cmd: 'puts', entries: before }));
        const slowStarted = r.event((e) => e.event === 'slowStart', 10_000);
        const slowWrite = r.send({ cmd: 'write', op: 'slow', args: [300] });
        await slowStarted;
        const rand = mulberry32(seed * 1_000_003);
        const entries: [string, string][] = [];
        for (let i = 0; i < 40; i++) entries.push([`w${i}`, 'y'.repeat(120 + Math.floor(rand() * 160))]);
        // W's puts must all return, although R is stuck in its apply and then lapped.
        valueOf(await w.call({ cmd: 'puts', entries }, 10_000));
        // R's slow write: its own result, or FencedError with committed === true; never a wrong result or RecoveryError.
        const slow = await withDeadline(slowWrite, 10_000, "R's slow write").catch((e: unknown) => {
          throw new Error(`${String(e)}; log ${JSON.stringify(peekLog(handle))}, R's slot ${JSON.stringify(peekSlot(handle, r.slot))}`);
        });
        if (slow.ok) expect(slow.value).toBe('slow-2');
        else expect(slow.error).toMatchObject({ name: 'FencedError', code: 'ERR_NR_FENCED', committed: true });
        valueOf(await r.call({ cmd: 'sync' }, 10_000));
        expect(valueOf(await r.call({ cmd: 'status' }))).toBe('live');
        const all = [...before, ...entries];
        expect(valueOf(await r.call({ cmd: 'values', keys: all.map(([k]) => k) }))).toEqual(all.map(([, v]) => v));
        valueOf(await w.call({ cmd: 'sync' }, 10_000));
        expect(valueOf(await r.call({ cmd: 'digest' }))).toBe(valueOf(await w.call({ cmd: 'digest' })));
        // Quiet now: every appended entry is complete.
        await until(() => peekLog(handle).ctail === peekLog(handle).tail, 2000, 'CTAIL reaching TAIL');
        expect(watch.worst(), 'CTAIL was sampled beyond TAIL').toBeNull();
      } finally {
        watch.stop();
      }
    });
  }
});
