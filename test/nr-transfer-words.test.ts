/**
 * The state-transfer words in shared memory (log/transfer.ts), driven by
 * hand from the main thread while the only real provider is blocked: a
 * joiner in a worker asks for a snapshot, and the "provider" answers with
 * forged words. A position past TAIL or a length past the buffer is proof
 * of corruption (fail-stop); a position HEAD has already passed is what a
 * requester fenced while it was slow to take its snapshot also sees, so it
 * asks again instead of failing stop, and joins once a real provider serves.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHandle, type NrHandle } from '../src/nr/index.js';
import { HEAD, TAIL, TRANSFER } from '../src/nr/log/layout.js';
import { Trust } from './support/trust-structure.js';
import { startTrustNode, terminateAll, valueOf, type TrustNode } from './support/trust-worker.js';

afterEach(terminateAll);

// The TRANSFER line's words, as documented at the top of log/transfer.ts.
const STATUS = TRANSFER + 1;
const POS = TRANSFER + 3;
const BYTES = TRANSFER + 4;
const PROVIDER = TRANSFER + 5;
const REQUESTED = 1;
const SERVING = 2;
const READY = 3;

const words = (h: NrHandle): Int32Array => new Int32Array(h.memory.buffer);

/** Waits (bounded) until some replica asks for a snapshot, then claims the request as slot 0 would. */
async function claimRequest(h: NrHandle, ms = 10_000): Promise<void> {
  const w = words(h);
  const end = performance.now() + ms;
  while (Atomics.compareExchange(w, STATUS, REQUESTED, SERVING) !== REQUESTED) {
    if (performance.now() > end) throw new Error('no snapshot request within the bound');
    await new Promise((r) => setTimeout(r, 1));
  }
  Atomics.store(w, PROVIDER, 0);
}

function answer(h: NrHandle, pos: number, bytes: number): void {
  const w = words(h);
  Atomics.store(w, POS, pos);
  Atomics.store(w, BYTES, bytes);
  Atomics.store(w, STATUS, READY);
  Atomics.notify(w, STATUS);
}

/** A provider in slot 0 that has lapped a 4 KiB log several times, then blocks (serves nobody) until its gate opens. */
async function lappedProvider(): Promise<{ h: NrHandle; provider: TrustNode; gate: Int32Array }> {
  const h = createHandle(Trust, { replicas: 1, maxReplicas: 4, logBytes: 4096 });
  const control = new SharedArrayBuffer(64);
  const provider = await startTrustNode(h, control);
  valueOf(await provider.call({ cmd: 'attach', options: { slot: 0 } }));
  const entries: [string, unknown][] = Array.from({ length: 200 }, (_, i) => [`k${i}`, 'v'.repeat(40)]);
  valueOf(await provider.call({ cmd: 'puts', entries }));
  expect(Atomics.load(words(h), HEAD)).toBeGreaterThan(256); // lapped: HEAD far from 0
  void provider.send({ cmd: 'block', ms: 20_000 });
  return { h, provider, gate: new Int32Array(control) };
}

describe('forged state-transfer words', () => {
  it('a snapshot position past TAIL: the joiner fails stop with nothing restored', async () => {
    const { h } = await lappedProvider();
    const joiner = await startTrustNode(h);
    const joined = joiner.send({ cmd: 'attach' });
    await claimRequest(h);
    answer(h, Atomics.load(words(h), TAIL) + 640, 0);
    const r = await joined;
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ name: 'FailStopError', code: 'ERR_NR_FAIL_STOP' });
    expect(r.error!.message).toMatch(/state-transfer words are corrupt/);
  });

  it('a snapshot length past the transfer buffer: fail-stop', async () => {
    const { h } = await lappedProvider();
    const joiner = await startTrustNode(h);
    const joined = joiner.send({ cmd: 'attach' });
    await claimRequest(h);
    answer(h, Atomics.load(words(h), TAIL), 1 << 30);
    const r = await joined;
    expect(r.error).toMatchObject({ name: 'FailStopError', code: 'ERR_NR_FAIL_STOP' });
  });

  it('a snapshot HEAD has already passed (the requester was too slow): it asks again, then joins from a real provider', async () => {
    const { h, provider, gate } = await lappedProvider();
    const joiner = await startTrustNode(h);
    const joined = joiner.send({ cmd: 'attach' });
    await claimRequest(h);
    answer(h, Atomics.load(words(h), HEAD) - 64, 0);
    // Not taken as corruption: the same joiner asks again.
    await claimRequest(h);
    answer(h, Atomics.load(words(h), HEAD) - 320, 0);
    await claimRequest(h);
    Atomics.store(words(h), STATUS, REQUESTED); // give this request back to the real provider
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    const r = await joined;
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(valueOf(await joiner.call({ cmd: 'values', keys: ['k0', 'k199'] }))).toEqual(['v'.repeat(40), 'v'.repeat(40)]);
    expect(valueOf(await joiner.call({ cmd: 'digest' }))).toBe(valueOf(await provider.call({ cmd: 'digest' })));
  });
});
