/**
 * The state-transfer words in shared memory (log/transfer.ts), driven by
 * hand from the main thread while the only real provider is blocked: a
 * joiner in a worker asks for a snapshot, and the "provider" answers with
 * forged words. A position past TAIL or a length past the buffer is proof
 * of corruption (fail-stop); a position HEAD has already passed is what a
 * requester fenced while it was slow to take its snapshot also sees, so it
 * asks again instead of failing stop, and joins once a real provider serves.
 * On parallel logs the words forged are log 0's, the first a joiner asks of.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createCnrHandle, createHandle, type NrHandle } from '../src/nr/index.js';
import { HEAD, TAIL, TRANSFER } from '../src/nr/log/layout.js';
import { LOG_COUNTS, logsOf, systemName, type MapHandle } from './support/log-systems.js';
import { Trust, TrustCnr } from './support/trust-structure.js';
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

/**
 * A provider in slot 0 that has lapped a 4 KiB log (on parallel logs: every
 * 4 KiB log) several times, then blocks (serves nobody) until its gate
 * opens. `h` is the log whose words the test forges: the only log, or on
 * parallel logs log 0, the first one a joiner asks a snapshot of.
 */
async function lappedProvider(logs: number): Promise<{ handle: MapHandle; h: NrHandle; provider: TrustNode; gate: Int32Array }> {
  const options = { replicas: 1, maxReplicas: 4, logBytes: 4096 };
  const handle: MapHandle = logs === 1 ? createHandle(Trust, options) : createCnrHandle(TrustCnr, { ...options, logs });
  const control = new SharedArrayBuffer(64);
  const provider = await startTrustNode(handle, control);
  valueOf(await provider.call({ cmd: 'attach', options: { slot: 0 } }));
  const entries: [string, unknown][] = Array.from({ length: 200 * logs }, (_, i) => [`k${i}`, 'v'.repeat(40)]);
  valueOf(await provider.call({ cmd: 'puts', entries }));
  for (const l of logsOf(handle)) expect(Atomics.load(words(l), HEAD)).toBeGreaterThan(256); // lapped: HEAD far from 0
  void provider.send({ cmd: 'block', ms: 20_000 });
  return { handle, h: logsOf(handle)[0]!, provider, gate: new Int32Array(control) };
}

describe.each(LOG_COUNTS)('forged state-transfer words (%i log(s))', (logs) => {
  it(`${systemName(logs)}: a snapshot position past TAIL: the joiner fails stop with nothing restored`, async () => {
    const { handle, h } = await lappedProvider(logs);
    const joiner = await startTrustNode(handle);
    const joined = joiner.send({ cmd: 'attach' });
    await claimRequest(h);
    answer(h, Atomics.load(words(h), TAIL) + 640, 0);
    const r = await joined;
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ name: 'FailStopError', code: 'ERR_NR_FAIL_STOP' });
    expect(r.error!.message).toMatch(/state-transfer words are corrupt/);
  });

  it(`${systemName(logs)}: a snapshot length past the transfer buffer: fail-stop`, async () => {
    const { handle, h } = await lappedProvider(logs);
    const joiner = await startTrustNode(handle);
    const joined = joiner.send({ cmd: 'attach' });
    await claimRequest(h);
    answer(h, Atomics.load(words(h), TAIL), 1 << 30);
    const r = await joined;
    expect(r.error).toMatchObject({ name: 'FailStopError', code: 'ERR_NR_FAIL_STOP' });
  });

  it(`${systemName(logs)}: a snapshot HEAD has already passed (the requester was too slow): it asks again, then joins from a real provider`, async () => {
    const { handle, h, provider, gate } = await lappedProvider(logs);
    const joiner = await startTrustNode(handle);
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
    expect(valueOf(await joiner.call({ cmd: 'values', keys: ['k0', `k${200 * logs - 1}`] }))).toEqual(['v'.repeat(40), 'v'.repeat(40)]);
    expect(valueOf(await joiner.call({ cmd: 'digest' }))).toBe(valueOf(await provider.call({ cmd: 'digest' })));
  });
});
