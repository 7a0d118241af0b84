/**
 * Regression tests for issue 11 ("NR core you can trust"): one `it` per
 * failure the independent kill-stress found, on real worker threads and
 * the public API only (raw log words are read through support/log-peek.ts).
 * Each was written before its fix and failed on the code of that day (see
 * the report in docs/nr.md); every wait is bounded, so a hang fails the test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as nr from '../src/nr/index.js';
import {
  attach,
  connect,
  connectCnr,
  createCnrHandle,
  createHandle,
  NrError,
  type ConnectOptions,
  type HandleOptions,
  type NrHandle,
} from '../src/nr/index.js';
import { ahead, peekLog, peekSlot, SLOT_STATE } from './support/log-peek.js';
import { declareMapDead, declareMapThreadDead, isCnr, LOG_COUNTS, logsOf, systemName, type MapHandle } from './support/log-systems.js';
import { mulberry32 } from './support/prng.js';
import { Trust, TrustCnr } from './support/trust-structure.js';
import { startTrustNode, terminateAll, TimedOut, valueOf, withDeadline, type TrustNode } from './support/trust-worker.js';
import type { ErrorInfo } from './support/trust-protocol.js';

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

/**
 * Items 1-6 are log-protocol guarantees: they run on one log and on parallel
 * logs (CNR, TrustCnr: every option per log), through each one's public API.
 * On several logs a log word is checked on every log, and the writers append
 * `logs` times as much so that every log laps as the single log does.
 */
type TrustHandle = MapHandle;
function createTrust(logs: number, options: HandleOptions): TrustHandle {
  return logs === 1 ? createHandle(Trust, options) : createCnrHandle(TrustCnr, { ...options, logs });
}
function connectTrust(handle: TrustHandle, options: ConnectOptions): TrustClient {
  return isCnr(handle) ? (connectCnr(handle, TrustCnr, options) as unknown as TrustClient) : connect(handle, Trust, options);
}
/** Whether slot `s` is fenced on every log. */
const fencedEverywhere = (handle: TrustHandle, s: number): boolean => logsOf(handle).every((l) => peekSlot(l, s).state === SLOT_STATE.Fenced);
/** Every log's words, for failure messages. */
const wordsOf = (handle: TrustHandle, slot: number): string => JSON.stringify(logsOf(handle).map((l) => ({ ...peekLog(l), slot: peekSlot(l, slot) })));

/** Samples CTAIL and TAIL of every log every few ms; records whether CTAIL was ever beyond TAIL. */
function watchCtail(handle: TrustHandle): { stop(): void; worst: () => { log: number; ctail: number; tail: number } | null } {
  let worst: { log: number; ctail: number; tail: number } | null = null;
  const t = setInterval(() => {
    logsOf(handle).forEach((l, log) => {
      const { tail, ctail } = peekLog(l);
      if (ahead(ctail, tail) > 0 && worst === null) worst = { log, ctail, tail };
    });
  }, 2);
  return { stop: () => clearInterval(t), worst: () => worst };
}

async function startReplica(handle: TrustHandle, options: Record<string, unknown> = {}, control?: SharedArrayBuffer): Promise<TrustNode & { slot: number }> {
  const node = await startTrustNode(handle, control);
  const slot = valueOf(await node.call({ cmd: 'attach', options }, 15_000)) as number;
  return Object.assign(node, { slot });
}

describe.each(LOG_COUNTS)('issue 11, item 1: a lapped, fenced replica (%i log(s))', (logs) => {
  for (const seed of [1, 2, 3]) {
    it(`${systemName(logs)}, seed ${seed}: a replica whose first apply outlasts fenceAfterMs while the writer laps a 4 KiB log recovers; CTAIL stays at or before TAIL; nothing is lost`, async () => {
      const handle = createTrust(logs, { replicas: 2, logBytes: 4096, fenceAfterMs: 5 });
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
        for (let i = 0; i < 40 * logs; i++) entries.push([`w${i}`, 'y'.repeat(120 + Math.floor(rand() * 160))]);
        // W's puts must all return, although R is stuck in its apply and then lapped.
        valueOf(await w.call({ cmd: 'puts', entries }, 10_000));
        // R's slow write: its own result, or FencedError with committed === true; never a wrong result or RecoveryError.
        const slow = await withDeadline(slowWrite, 10_000, "R's slow write").catch((e: unknown) => {
          throw new Error(`${String(e)}; logs and R's slot ${wordsOf(handle, r.slot)}`);
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
        await until(() => logsOf(handle).every((l) => peekLog(l).ctail === peekLog(l).tail), 2000, 'CTAIL reaching TAIL');
        expect(watch.worst(), 'CTAIL was sampled beyond TAIL').toBeNull();
      } finally {
        watch.stop();
      }
    });
  }
});

/** How one client op ended: a value, or an error's name, code and `committed`. */
type Outcome = { value: unknown } | { error: ErrorInfo };
function outcomeOf(e: unknown): Outcome {
  const x = e as Error & { code?: unknown; committed?: unknown };
  return { error: { name: x.name, ctor: x.constructor.name, code: x.code, committed: x.committed, message: x.message } };
}
async function settle(p: () => Promise<unknown>, ms: number): Promise<Outcome> {
  try {
    return { value: await withDeadline(p(), ms, 'client op') };
  } catch (e) {
    return outcomeOf(e);
  }
}
function settleSync(f: () => unknown): Outcome & { ms: number } {
  const t0 = performance.now();
  try {
    const value = f();
    return { value, ms: performance.now() - t0 };
  } catch (e) {
    return { ...outcomeOf(e), ms: performance.now() - t0 };
  }
}
type TrustClient = ReturnType<typeof connect<ReturnType<typeof Trust.create>, typeof Trust.reads, typeof Trust.writes>>;

describe.each(LOG_COUNTS)('issue 11, item 2: a client reused after NodeGoneError (%i log(s))', (logs) => {
  it(`${systemName(logs)}: every later op on the old client fails with NodeGoneError within 200 ms once a new worker took its node's slot; a new client gets correct answers`, async () => {
    const handle = createTrust(logs, { replicas: 2, clients: 2, clientSlots: 4 });
    await startReplica(handle, { slot: 1 });
    const n0 = await startReplica(handle, { slot: 0 }, new SharedArrayBuffer(64));
    const old: TrustClient = connectTrust(handle, { node: 0, timeoutMs: 1000 });
    try {
      expect(await withDeadline(old.writeAsync('put', 'a', 1), 5000, 'put')).toBeUndefined();
      expect(await withDeadline(old.readAsync('get', 'a'), 5000, 'get')).toBe(1);
      // The node stops serving with three of the client's ops in its ring, then dies.
      void n0.send({ cmd: 'block', ms: 20_000 });
      await sleep(100);
      const inFlight = [settle(() => old.readAsync('get', 'k12'), 3000), settle(() => old.writeAsync('put', 'q', 7), 3000), settle(() => old.readAsync('get', 'a'), 3000)];
      await sleep(50);
      await n0.worker.terminate();
      declareMapDead(handle, 0);
      for (const o of await Promise.all(inFlight)) expect(o).toMatchObject({ error: { name: 'NodeGoneError', code: 'ERR_NR_NODE_GONE' } });
      const gone = await settle(() => old.readAsync('get', 'a'), 2000);
      expect(gone).toMatchObject({ error: { name: 'NodeGoneError', code: 'ERR_NR_NODE_GONE' } });
      await startReplica(handle, { slot: 0 });
      const later: (Outcome & { ms?: number })[] = [];
      for (const op of [
        () => old.readAsync('get', 'a'),
        () => old.readAsync('get', 'k12'),
        () => old.writeAsync('put', 'b', 2),
        () => old.writeAsync('inc', 'n'),
      ]) {
        const t0 = performance.now();
        const o = await settle(op, 200);
        later.push({ ...o, ms: performance.now() - t0 });
      }
      later.push(settleSync(() => old.reads.get('a')));
      later.push(settleSync(() => old.writes.put('c', 3)));
      for (const o of later) {
        expect(o, JSON.stringify(later)).toMatchObject({ error: { name: 'NodeGoneError', code: 'ERR_NR_NODE_GONE' } });
        expect(o.ms!).toBeLessThan(200);
      }
      const fresh: TrustClient = connectTrust(handle, { timeoutMs: 5000 });
      try {
        expect(await withDeadline(fresh.readAsync('get', 'a'), 5000, 'get')).toBe(1);
        expect(await withDeadline(fresh.writeAsync('put', 'fresh', 'f'), 5000, 'put')).toBeUndefined();
        expect(fresh.reads.get('fresh')).toBe('f');
        expect(fresh.writes.inc('fresh-n')).toBe(1);
      } finally {
        fresh.close();
      }
    } finally {
      old.close();
    }
  });
});

describe.each(LOG_COUNTS)('issue 11, item 3: NodeGoneError says whether the op took effect (%i log(s))', (logs) => {
  for (const path of ['reuse', 'reconnect'] as const) {
    it(`${systemName(logs)}, ${path === 'reuse' ? 'reusing the old client' : 'closing it and connecting to another node'}: ops that report committed === false never take effect, also after a replacement node serves the dead node's slot`, async () => {
      const handle = createTrust(logs, { replicas: 2, clients: 2, clientSlots: 8 });
      const n1 = await startReplica(handle, { slot: 1 });
      const control = new SharedArrayBuffer(64);
      const n0 = await startReplica(handle, { slot: 0 }, control);
      const c: TrustClient = connectTrust(handle, { node: 0, timeoutMs: 1000 });
      const reported: { key: string; outcome: Outcome }[] = [];
      const record = async (key: string, p: () => Promise<unknown>): Promise<void> => {
        reported.push({ key, outcome: await settle(p, 3000) });
      };
      try {
        expect(await withDeadline(c.writeAsync('put', 'warm', 0), 5000, 'put')).toBeUndefined();
        // The node stops serving; six puts sit in its slot ring, in flight, when it dies.
        void n0.send({ cmd: 'block', ms: 20_000 });
        await sleep(100);
        const inFlight = [0, 1, 2, 3, 4, 5].map((i) => record(`u${i}`, () => c.writeAsync('put', `u${i}`, i)));
        await sleep(100);
        await n0.worker.terminate();
        declareMapDead(handle, 0);
        await Promise.all(inFlight);
        // Ops issued after the node is known gone.
        for (let i = 0; i < 3; i++) await record(`v${i}`, () => c.writeAsync('put', `v${i}`, i));
        let other: TrustClient | null = null;
        if (path === 'reconnect') {
          c.close();
          other = connectTrust(handle, { node: 1, timeoutMs: 5000 });
        }
        // A replacement node takes the dead node's slot and serves.
        await startReplica(handle, { slot: 0 });
        await sleep(300);
        if (path === 'reuse') for (let i = 0; i < 3; i++) await record(`z${i}`, () => c.writeAsync('put', `z${i}`, i));
        if (other) {
          expect(await withDeadline(other.writeAsync('put', 'after', 1), 5000, 'put')).toBeUndefined();
          other.close();
        }
        valueOf(await n1.call({ cmd: 'sync' }));
        const keys = reported.map((r) => r.key);
        const present = valueOf(await n1.call({ cmd: 'values', keys })) as unknown[];
        const errors = reported.filter((r) => 'error' in r.outcome);
        // Every failure is NodeGoneError whose `committed` is false or 'unknown'.
        const badErrors = errors.filter(
          (r) => !('error' in r.outcome) || r.outcome.error.code !== 'ERR_NR_NODE_GONE' || ![false, 'unknown'].includes(r.outcome.error.committed as never),
        );
        const tookEffectDespiteFalse = reported.filter(
          (r, i) => 'error' in r.outcome && r.outcome.error.committed === false && present[i] !== null,
        );
        const tookEffectAfterGone = reported.filter((r, i) => 'error' in r.outcome && present[i] !== null).length;
        expect(
          { badErrors: badErrors.map((r) => ({ key: r.key, ...r.outcome })), tookEffectDespiteFalse: tookEffectDespiteFalse.map((r) => r.key) },
          `${tookEffectAfterGone} of ${errors.length} ops that failed with NodeGoneError took effect`,
        ).toEqual({ badErrors: [], tookEffectDespiteFalse: [] });
        // The six in flight failed (or answered); none is a wrong value.
        for (const r of reported) if ('value' in r.outcome) expect(r.outcome.value).toBeUndefined();
      } finally {
        c.close();
      }
    });
  }
});

/** declareThreadDead is the API the fix adds; looked up dynamically so this file compiles before it exists. */
function declareThreadDeadFn(): (handle: NrHandle, threadId: number) => { replicas: number[]; clients: number } {
  const f = (nr as unknown as Record<string, unknown>).declareThreadDead;
  expect(typeof f, 'declareThreadDead is exported from src/nr/index.ts').toBe('function');
  return f as (handle: NrHandle, threadId: number) => { replicas: number[]; clients: number };
}

describe.each(LOG_COUNTS)('issue 11, item 4: a joiner killed while it holds the state-transfer lock (%i log(s))', (logs) => {
  for (const declared of [false, true]) {
    it(`${systemName(logs)}: a fenced replica's recovery and a later join complete within 3 s (transferTimeoutMs is 30 s)${declared ? ', after declareThreadDead' : ', with no declare call'}`, async () => {
      const handle = createTrust(logs, { replicas: 2, maxReplicas: 4, logBytes: 4096, fenceAfterMs: 50 });
      const provider = await startReplica(handle, { slot: 0 });
      const gate = new SharedArrayBuffer(64);
      const fenced = await startReplica(handle, { slot: 1 }, gate);
      valueOf(await provider.call({ cmd: 'slowness', slowness: { snapshotMs: 1500, snapshotsToDelay: 1 } }));
      void fenced.send({ cmd: 'block', ms: 20_000 });
      await sleep(50);
      const entries: [string, string][] = [];
      for (let i = 0; i < 300 * logs; i++) entries.push([`k${i % 50}`, `v${i}-${'p'.repeat(40)}`]);
      valueOf(await provider.call({ cmd: 'puts', entries }, 10_000));
      await until(() => fencedEverywhere(handle, 1), 5000, 'the blocked replica being fenced');
      // The joiner takes the transfer lock; it is killed while the provider builds its snapshot.
      const joiner = await startTrustNode(handle);
      const snapshotting = provider.event((e) => e.event === 'slowStart' && e.what === 'snapshot', 10_000);
      void joiner.send({ cmd: 'attach' });
      await snapshotting;
      await joiner.worker.terminate();
      if (declared && !isCnr(handle)) {
        const freed = declareThreadDeadFn()(handle, joiner.threadId);
        expect(freed.clients).toBe(0);
        expect(freed.replicas).toEqual([2]); // the joiner's slot: the lowest free one
      } else if (declared) {
        expect(declareMapThreadDead(handle, joiner.threadId)).toEqual([2]);
      }
      // The fenced replica resumes and must recover by transfer without waiting out the dead joiner's lock.
      const g = new Int32Array(gate);
      Atomics.store(g, 0, 1);
      Atomics.notify(g, 0);
      const t0 = performance.now();
      valueOf(await fenced.call({ cmd: 'sync' }, 3000));
      expect(valueOf(await fenced.call({ cmd: 'status' }))).toBe('live');
      expect(performance.now() - t0).toBeLessThan(3000);
      const t1 = performance.now();
      const later = await startTrustNode(handle);
      valueOf(await later.call({ cmd: 'attach' }, 3000));
      expect(performance.now() - t1).toBeLessThan(3000);
      valueOf(await provider.call({ cmd: 'sync' }));
      const digest = valueOf(await provider.call({ cmd: 'digest' }));
      expect(valueOf(await fenced.call({ cmd: 'digest' }))).toBe(digest);
      expect(valueOf(await later.call({ cmd: 'digest' }))).toBe(digest);
    });
  }
});

describe.each(LOG_COUNTS)('issue 11, item 5: a node killed and never declared dead (%i log(s))', (logs) => {
  it(`${systemName(logs)}: once fenced, connect() never picks it, and its client's async op rejects within timeoutMs + 1 s (sync ops throw)`, async () => {
    const handle = createTrust(logs, { replicas: 2, clients: 2, logBytes: 4096, fenceAfterMs: 20 });
    const dead = await startReplica(handle, { slot: 0 });
    const live = await startReplica(handle, { slot: 1 });
    const timeoutMs = 500;
    const ofDead: TrustClient = connectTrust(handle, { node: 0, timeoutMs });
    const ofLive: TrustClient = connectTrust(handle, { node: 1, timeoutMs });
    const picked: TrustClient[] = [];
    try {
      expect(await withDeadline(ofDead.writeAsync('put', 'x', 1), 5000, 'put')).toBeUndefined();
      await dead.worker.terminate(); // no declareDead
      const entries: [string, string][] = [];
      for (let i = 0; i < 300 * logs; i++) entries.push([`k${i % 20}`, `${i}-${'q'.repeat(40)}`]);
      valueOf(await live.call({ cmd: 'puts', entries }, 10_000));
      await until(() => fencedEverywhere(handle, 0), 5000, 'the dead node being fenced');
      // Equal load on both nodes: connect() must still pick the serving one.
      for (let i = 0; i < 1; i++) {
        const c: TrustClient = connectTrust(handle, { timeoutMs });
        picked.push(c);
        expect.soft(c.node, 'connect() picked the dead node').toBe(1);
      }
      const t0 = performance.now();
      const asyncOutcome = await settle(() => ofDead.writeAsync('put', 'y', 2), timeoutMs + 1000);
      expect.soft(asyncOutcome, `after ${Math.round(performance.now() - t0)} ms`).toMatchObject({ error: { code: expect.stringMatching(/^ERR_NR_(NODE_GONE|TIMEOUT)$/) } });
      const syncOutcome = settleSync(() => ofDead.writes.put('z', 3));
      expect(syncOutcome).toMatchObject({ error: { code: expect.stringMatching(/^ERR_NR_(NODE_GONE|TIMEOUT)$/) } });
      expect(syncOutcome.ms).toBeLessThan(timeoutMs + 1000);
    } finally {
      for (const c of [ofDead, ofLive, ...picked]) c.close();
    }
  });
});

describe.each(LOG_COUNTS)('issue 11, item 6: an undeclared kill leaks its replica slot (%i log(s))', (logs) => {
  it(`${systemName(logs)}: with maxReplicas 4, three replicas killed without declareDead and fenced by the survivor leave their slots to three new replicas within 5 s`, async () => {
    const handle = createTrust(logs, { replicas: 1, maxReplicas: 4, logBytes: 4096, fenceAfterMs: 20 });
    const survivor = await startReplica(handle, { slot: 0 });
    valueOf(await survivor.call({ cmd: 'puts', entries: [['seed', 1]] }));
    const victims = [];
    for (let i = 0; i < 3; i++) victims.push(await startReplica(handle));
    const victimSlots = victims.map((v) => v.slot);
    expect(new Set(victimSlots).size).toBe(3);
    for (const v of victims) await v.worker.terminate(); // no declareDead
    const entries: [string, string][] = [];
    for (let i = 0; i < 400 * logs; i++) entries.push([`k${i % 30}`, `${i}-${'r'.repeat(40)}`]);
    valueOf(await survivor.call({ cmd: 'puts', entries }, 10_000));
    await until(() => victimSlots.every((s) => fencedEverywhere(handle, s)), 5000, 'the dead replicas being fenced');
    const t0 = performance.now();
    const joined: TrustNode[] = [];
    for (let i = 0; i < 3; i++) {
      const n = await startTrustNode(handle);
      valueOf(await n.call({ cmd: 'attach' }, Math.max(1, 5000 - (performance.now() - t0))));
      joined.push(n);
    }
    expect(performance.now() - t0).toBeLessThan(5000);
    valueOf(await survivor.call({ cmd: 'sync' }));
    const digest = valueOf(await survivor.call({ cmd: 'digest' }));
    for (const n of joined) {
      valueOf(await n.call({ cmd: 'sync' }));
      expect(valueOf(await n.call({ cmd: 'digest' }))).toBe(digest);
    }
  });
});

describe("issue 11, a new user's first hour", () => {
  it('a: a sync client op to a node in the same thread throws ERR_NR_SAME_THREAD at once and does not take effect', async () => {
    const handle = createHandle(Trust, { replicas: 1, clients: 1 });
    const node = attach(handle, Trust);
    const c: TrustClient = connect(handle, Trust, { node: node.id, timeoutMs: 1000 });
    try {
      const o = settleSync(() => c.writes.put('same', 1));
      expect.soft(o).toMatchObject({ error: { code: 'ERR_NR_SAME_THREAD' } });
      expect.soft(o.ms).toBeLessThan(100);
      await sleep(50); // let the node's event loop serve anything that was sent
      node.sync();
      expect(node.reads.get('same')).toBeUndefined();
    } finally {
      c.close();
      node.detach();
    }
  });

  it("b: an apply error too large for the client slot arrives with its class name, code and the start of its message", async () => {
    const handle = createHandle(Trust, { replicas: 1, clients: 1 });
    await startReplica(handle);
    const c: TrustClient = connect(handle, Trust, { timeoutMs: 5000 });
    try {
      const o = await settle(() => c.writeAsync('fail', 1000), 5000);
      expect(o).toMatchObject({ error: { name: 'QuotaError', code: 'EQUOTA', message: expect.stringMatching(/^quota exceeded: x{20}/) } });
    } finally {
      c.close();
    }
  });

  it('c: OpTooLargeError on a client names the client slot limit and the option clientSlotBytes', async () => {
    const handle = createHandle(Trust, { replicas: 1, clients: 1, clientSlotBytes: 256 });
    const node = await startReplica(handle);
    const c: TrustClient = connect(handle, Trust, { timeoutMs: 5000 });
    try {
      let err: unknown;
      try {
        c.writes.put('big', 'z'.repeat(1000));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(nr.OpTooLargeError);
      const e = err as nr.OpTooLargeError;
      expect(e.limit).toBeLessThan(256);
      expect(e.message).toContain(String(e.limit));
      expect(e.message).toContain('clientSlotBytes');
      expect(e.message).not.toContain('log holds');
      expect(valueOf(await node.call({ cmd: 'values', keys: ['big'] }))).toEqual([null]);
    } finally {
      c.close();
    }
  });

  it('d: unknown options and non-function ops are a ConfigError naming the bad key', () => {
    const handle = createHandle(Trust, { replicas: 2, clients: 1 });
    const node = attach(handle, Trust);
    const cases: [string, () => unknown, RegExp][] = [
      ["createHandle { replica: 2 }", () => createHandle(Trust, { replica: 2 } as unknown as nr.HandleOptions), /\breplica\b/],
      ["attach { slots: 1 }", () => attach(handle, Trust, { slots: 1 } as unknown as nr.AttachOptions), /\bslots\b/],
      ["connect { nodee: 0 }", () => connect(handle, Trust, { nodee: 0 } as unknown as nr.ConnectOptions), /\bnodee\b/],
      [
        'defineStructure writes { a: 5 }',
        () => nr.defineStructure({ name: 'bad-op', create: () => 0, reads: {}, writes: { a: 5 } } as unknown as Parameters<typeof nr.defineStructure<number, nr.OpTable<number>, nr.OpTable<number>>>[0]),
        /['"`]a['"`]|\ba\b/,
      ],
      [
        'defineStructure { reducers }',
        () => nr.defineStructure({ name: 'bad-key', create: () => 0, reads: {}, writes: {}, reducers: {} } as unknown as Parameters<typeof nr.defineStructure<number, nr.OpTable<number>, nr.OpTable<number>>>[0]),
        /\breducers\b/,
      ],
    ];
    const outcomes = cases.map(([what, f, names]) => {
      const o = settleSync(f);
      if ('value' in o && o.value && typeof (o.value as { detach?: unknown }).detach === 'function') (o.value as { detach(): void }).detach();
      if ('value' in o && o.value && typeof (o.value as { close?: unknown }).close === 'function') (o.value as { close(): void }).close();
      const ok = 'error' in o && o.error.name === 'ConfigError' && o.error.code === 'ERR_NR_CONFIG' && names.test(o.error.message);
      return { what, ok, got: 'error' in o ? `${o.error.name}: ${o.error.message}` : 'accepted silently' };
    });
    node.detach();
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
  });

  it("e: digest() on a structure without digest says to define digest in defineStructure", async () => {
    const { NoDigest } = await import('./support/trust-structure.js');
    const handle = createHandle(NoDigest, { replicas: 1 });
    const r = attach(handle, NoDigest);
    try {
      let err: unknown;
      try {
        r.digest();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NrError);
      const m = (err as Error).message;
      expect(m).toContain('digest');
      expect(m).toContain('defineStructure');
      expect(m).not.toContain("no read op named 'digest'");
    } finally {
      r.detach();
    }
  });
});
