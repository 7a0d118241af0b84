/**
 * Client runners (connectScheduler): runner threads without a replica,
 * whose ops go through a node. On real workers: they run tasks with the
 * same outcomes as replica runners (results, retries, done exactly once);
 * a claim's answer is cut to fit the client's slot; a client runner whose
 * node dies ends with the core's NodeGoneError and its lease expires as a
 * dead runner's does; a client runner killed mid-task is given back and
 * evicted by its manager, and its task runs again, done once.
 */
import { describe, expect, it } from 'vitest';
import { declareClientDead, declareDead } from '../src/nr/index.js';
import { BadArgumentError, connectScheduler, createScheduler, openScheduler, PayloadTooLargeError, Runner, schedNow } from '../src/sched/index.js';
import { claim, createState, join, submit } from '../src/sched/state.js';
import { CLAIM_RESULT_BYTES, CLAIMED_TASK_BYTES } from '../src/sched/sizes.js';
import { expectCompletedOnce, expectEchoedOnce, startRunner, trackSched, until, within } from './support/sched-workers.js';

const { open, workers } = trackSched();

describe('sched client runners', () => {
  it('client runners beside a replica runner run every task once, with the same results and retries', async () => {
    const handle = createScheduler({ kinds: ['work'], threads: 2, clients: 2 });
    const sched = openScheduler(handle); // also the node the client runners connect to
    open.push(sched);
    const audit = new SharedArrayBuffer(4 * 4096);
    const node = await startRunner(handle, audit, 4, 2000);
    // One client runner of each node: this thread, and the replica runner's thread.
    const clients = [
      await startRunner(handle, audit, 4, 2000, undefined, { client: { node: sched.submitter } }),
      await startRunner(handle, audit, 4, 2000, undefined, { client: { node: node.slot } }),
    ];
    workers.push(node, ...clients);
    const results = Array.from({ length: 400 }, (_, x) => sched.submit<number>('work', { x, ms: 2, failFirst: x % 50 === 0 }, { backoffMs: 1 }));
    expect(await within(Promise.all(results), 30_000, 'results')).toEqual(Array.from({ length: 400 }, (_, x) => x * 2));
    expect(sched.summary().counts).toMatchObject({ submitted: 400, done: 400, failed: 0, retried: 8 });
    // Done exactly once: each task's completion was accepted once, by whichever runner held it. (A runner
    // counts after its finish op's answer; the node, this thread, may see the task done before that.)
    const counts = new Int32Array(audit);
    await until(() => counts.reduce((a, b) => a + b, 0) >= 400);
    expect(Array.from(new Int32Array(audit).subarray(1, 401))).toEqual(new Array(400).fill(1));
    // Clients first: a node that leaves takes its clients' later ops with it (NodeGoneError).
    for (const w of clients) w.worker.postMessage({ stop: true });
    const left = await Promise.all(clients.map((w) => within(w.left, 10_000, 'client runner leaves')));
    node.worker.postMessage({ stop: true });
    left.unshift(await within(node.left, 10_000, 'replica runner leaves'));
    const stats = left.map((m) => m.stats as { completed: number; failed: number; errors: number });
    expect(stats.reduce((n, s) => n + s.completed, 0)).toBe(400);
    expect(stats.reduce((n, s) => n + s.failed, 0)).toBe(8);
    for (const s of stats) expect(s.completed).toBeGreaterThan(0); // the client runners took part
    expect(left.map((m) => [m.lastError, (m.stats as { errors: number }).errors])).toEqual([[null, 0], [null, 0], [null, 0]]);
    expect(sched.summary()).toMatchObject({ queued: 0, running: 0 });
    for (const w of [node, ...clients]) expect(sched.worker(w.workerId)?.status).toBe('gone');
  });

  it('busy client runners terminated at any point of their claim/finish ops (given back and evicted, or left to expire): every task is done exactly once', async () => {
    const handle = createScheduler({ kinds: ['echo'], threads: 1, clients: 2, policy: 'fifo' });
    const sched = openScheduler(handle, { retain: true }); // the node
    open.push(sched);
    const audit = new SharedArrayBuffer(4 * 4096);
    const n = 1500;
    const results = Array.from({ length: n }, (_, i) => sched.submit<number>('echo', i, { maxAttempts: 20 }));
    for (let k = 0; k < 3; k++) {
      const w = await startRunner(handle, audit, 16, 1000, ['echo'], { client: {} });
      workers.push(w);
      // Echo tasks: the runner is always in a claim or finish op; terminate it a quarter further on.
      await until(() => sched.summary().counts.done >= ((k + 1) * n) / 4, 20_000);
      const threadId = w.worker.threadId;
      await w.worker.terminate();
      expect(declareClientDead(handle.nr, threadId)).toBe(1);
      if (k !== 1) await sched.evict(w.workerId);
    }
    workers.push(await startRunner(handle, audit, 16, 1000, ['echo'], { client: {} }));
    await expectEchoedOnce(sched, results, audit);
  });

  it("a claim's answer is cut to what the client's slot holds; a payload too big for it is refused at submit", async () => {
    expect(() => createScheduler({ kinds: ['echo'], clients: 1, clientSlotBytes: 16384, maxPayloadBytes: 16000 })).toThrow(BadArgumentError);
    expect(() => createScheduler({ kinds: ['echo'], clients: 1, clientSlotBytes: 8192 })).toThrow(BadArgumentError);
    const handle = createScheduler({ kinds: ['echo'], threads: 1, clients: 1, clientSlotBytes: 16384 });
    expect(handle.maxPayloadBytes).toBe(16384 - 1024);
    const sched = openScheduler(handle);
    open.push(sched);
    expect(() => sched.submit('echo', 'y'.repeat(handle.maxPayloadBytes))).toThrow(PayloadTooLargeError);
    // Ten payloads of 15 000 bytes: one per answer (two would not fit 16 KiB), all claimed by one runner of capacity 10.
    const payloads = Array.from({ length: 10 }, (_, i) => String(i).repeat(15_000));
    const results = payloads.map((p) => sched.submit<string>('echo', p));
    const client = await startRunner(handle, new SharedArrayBuffer(4 * 64), 10, 2000, undefined, { client: {}, options: { maxClaim: 10 } });
    workers.push(client);
    expect(await within(Promise.all(results), 20_000, 'results')).toEqual(payloads);
    client.worker.postMessage({ stop: true });
    const left = await within(client.left, 10_000, 'runner leaves');
    expect(left.stats).toMatchObject({ claimed: 10, completed: 10, errors: 0 });
    expect((left.stats as { claims: number }).claims).toBeGreaterThanOrEqual(10);
  });

  it("the claim apply takes tasks while their answer fits maxBytes, always the first", () => {
    const s = createState({ policy: 'fifo' });
    const w = join(s, 8, ['k'], 1).value;
    submit(s, 0, Array.from({ length: 4 }, () => ({ kind: 'k', payload: 'x'.repeat(100) })), 1);
    const task = CLAIMED_TASK_BYTES + 5 + 300; // a 100-char string is counted at 3 bytes a char
    expect(claim(s, w, 8, 1000, 2, CLAIM_RESULT_BYTES + 2 * task).value.tasks.map((t) => t.id)).toEqual([1, 2]);
    expect(claim(s, w, 8, 1000, 3, 1).value.tasks.map((t) => t.id)).toEqual([3]);
    expect(claim(s, w, 8, 1000, 4).value.tasks.map((t) => t.id)).toEqual([4]);
  });

  it('connectScheduler refuses a scheduler without client slots, unknown options and a node out of range', () => {
    const plain = createScheduler({ kinds: ['work'], threads: 1 });
    expect(() => connectScheduler(plain)).toThrow(BadArgumentError);
    const handle = createScheduler({ kinds: ['work'], threads: 1, clients: 1 });
    expect(() => connectScheduler(handle, { nodes: 1 } as never)).toThrow(BadArgumentError);
    expect(() => connectScheduler(handle, { node: 64 })).toThrow(BadArgumentError);
    // No node serves yet (no thread attached): a typed error, no slot taken.
    expect(() => connectScheduler(handle)).toThrow(/connectScheduler: .*no node is serving/);
    const sched = openScheduler(handle);
    open.push(sched);
    // The node is this thread: the runner's join (a blocking op) could never be answered.
    const view = connectScheduler(handle);
    expect(() => new Runner(view, { work: () => 1 })).toThrow(expect.objectContaining({ code: 'SCHED_REPLICA_FAILED' }));
    view.close();
  });

  it('a client runner ticks the replicated clock: with no other thread issuing ops, a waiting task fails at its deadline', async () => {
    const handle = createScheduler({ kinds: ['k', 'other'], threads: 2, clients: 1 });
    const sched = openScheduler(handle); // the node: it awaits nothing, so it never ticks
    open.push(sched);
    // Capacity 0: the client runner never claims; its idle turns read nextDue and tick.
    const client = await startRunner(handle, new SharedArrayBuffer(64), 0, 2000, ['other'], { client: {} });
    workers.push(client);
    const submitter = openScheduler(handle);
    let id = -1;
    const awaited = submitter.submit('k', 1, { deadline: schedNow() + 300, onId: (i) => (id = i) });
    await until(() => id > 0);
    submitter.close(); // its await ends; nobody awaits the task now
    await expect(awaited).rejects.toMatchObject({ code: 'SCHED_CLOSED' });
    await until(() => sched.task(id)?.state === 'failed', 10_000);
    expect(sched.task(id)).toMatchObject({ state: 'failed', attempts: 0 });
    expect(sched.task(id)!.error).toMatch(/deadline/);
  });

  it("a client runner whose node is killed ends with NodeGoneError; its lease expires as a dead runner's and the task runs again, done once", async () => {
    const handle = createScheduler({ kinds: ['echo', 'slow'], threads: 3, clients: 1 });
    const sched = openScheduler(handle, { retain: true });
    open.push(sched);
    const audit = new SharedArrayBuffer(4 * 64);
    const probe = new SharedArrayBuffer(16);
    const node = await startRunner(handle, audit, 1, 2000, ['echo']);
    workers.push(node);
    const client = await startRunner(handle, audit, 1, 300, ['slow'], { client: { node: node.slot }, probe });
    workers.push(client);
    let id = -1;
    const result = sched.submit<number>('slow', { ms: 1500 }, { onId: (i) => (id = i) });
    const p = new Int32Array(probe);
    await until(() => Atomics.load(p, 0) === 1); // attempt 1 runs in the client runner
    await node.worker.terminate();
    declareDead(handle.nr, node.slot);
    await sched.evict(node.workerId);
    const left = await within(client.left, 10_000, 'client runner ends');
    expect(left.lastError).toEqual({ name: 'NodeGoneError', code: 'ERR_NR_NODE_GONE', committed: expect.anything() });
    expect(Atomics.load(p, 3)).toBe(1); // its handler's signal aborted with a LeaseLostError
    // Nobody evicted the client runner: its lease runs out (the awaiting thread ticks the clock).
    await until(() => sched.task(id)?.state === 'queued', 10_000);
    const replacement = await startRunner(handle, audit, 1, 2000, ['slow']);
    workers.push(replacement);
    expect(await within(result, 15_000, 'result')).toBe(2);
    const t = sched.task(id)!;
    expect(t.log.map((a) => [a.attempt, a.worker, a.end])).toEqual([
      [1, client.workerId, 'expired'],
      [2, replacement.workerId, 'done'],
    ]);
    await expectCompletedOnce(audit, id);
    expect(sched.worker(client.workerId)).toMatchObject({ status: 'active', running: 0 });
  });

  it('a client runner killed mid-task: its manager gives its slot back and evicts it; the task runs again on a new client runner, done once', async () => {
    const handle = createScheduler({ kinds: ['slow'], threads: 1, clients: 1 });
    const sched = openScheduler(handle, { retain: true }); // the node
    open.push(sched);
    const audit = new SharedArrayBuffer(4 * 64);
    const probe = new SharedArrayBuffer(16);
    const first = await startRunner(handle, audit, 1, 60_000, undefined, { client: {}, probe });
    workers.push(first);
    let id = -1;
    const result = sched.submit<number>('slow', { ms: 300 }, { onId: (i) => (id = i) });
    await until(() => Atomics.load(new Int32Array(probe), 0) === 1);
    const threadId = first.worker.threadId;
    await first.worker.terminate();
    // The only client slot is taken until it is given back.
    expect(declareClientDead(handle.nr, threadId)).toBe(1);
    await sched.evict(first.workerId);
    const second = await startRunner(handle, audit, 1, 60_000, undefined, { client: {} });
    workers.push(second);
    expect(await within(result, 15_000, 'result')).toBe(2);
    expect(sched.task(id)!.log.map((a) => [a.attempt, a.worker, a.end])).toEqual([
      [1, first.workerId, 'evicted'],
      [2, second.workerId, 'done'],
    ]);
    await expectCompletedOnce(audit, id);
    expect(sched.worker(first.workerId)?.status).toBe('gone');
  });
});
