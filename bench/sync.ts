/**
 * Start/finish coordination for benchmark workers, over one small
 * SharedArrayBuffer. Waiting is async (waitAsync plus a keep-alive timer:
 * a pending waitAsync alone does not keep a Node thread alive) so that a
 * replica's event loop can still be nudged while it waits.
 *
 * Layout (Int32 words, one 64-byte line each): 0 READY count (set up),
 * 16 PREPARED count (caught up, measured), 32 ROUND (the harness raises it
 * to start measuring round n), 48 FINISHED count (rounds finished, summed
 * over workers).
 *
 * Also the worker side of a cell: `ready`, `measureRounds` (one timed
 * window per round the harness starts) and `measurePipelined` (the same
 * for a client that keeps a window of messages in flight).
 */
import type { MessagePort } from 'node:worker_threads';

export const READY = 0;
export const PREPARED = 16;
export const ROUND = 32;
export const FINISHED = 48;

export function newCoordination(): SharedArrayBuffer {
  return new SharedArrayBuffer(64 * 4);
}

export async function waitUntilAtLeast(words: Int32Array, index: number, value: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = Atomics.load(words, index);
    if (seen >= value) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for word ${index} to reach ${value} (at ${seen})`);
    const r = Atomics.waitAsync(words, index, seen, 20);
    if (r.async) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([r.value, new Promise((res) => (timer = setTimeout(res, 20)))]);
      clearTimeout(timer);
    }
  }
}

/**
 * Unmeasured rounds a cell runs before its measured ones, so the rounds
 * measure steady-state code rather than V8 compiling it: each isolate
 * optimises its hot paths once, on platform threads that share the two
 * cores with the cell, and that took about 1 core for the first ~2 s of an
 * 8-thread cell (BENCHMARKS.md, "warm-up"). The cost grows with isolates,
 * so the warm-up does too: about 250 ms of work per thread, at least one
 * round. Quick runs (a smoke check, not a measurement) skip it.
 */
export function warmupRoundsFor(threads: number, durationMs: number, quick: boolean): number {
  return quick ? 0 : Math.max(1, Math.ceil((threads * 250) / durationMs));
}

/**
 * The harness's side of a cell's rounds: start each round and wait until
 * its `measured` workers finished it. Returns the CPU time of this whole
 * process over the rounds, in µs: every thread (the measured ones, owners
 * and nodes that serve them, GC helpers), so a system that moves work to
 * a thread that is not measured is not made to look cheaper. The first
 * `warmup` of the `rounds` are run but not counted (the caller drops
 * their ops too).
 */
export async function runRounds(words: Int32Array, rounds: number, measured: number, durationMs: number, warmup = 0): Promise<number> {
  let c0 = process.cpuUsage();
  for (let r = 1; r <= rounds; r++) {
    if (r === warmup + 1) c0 = process.cpuUsage();
    arrive(words, ROUND);
    await waitUntilAtLeast(words, FINISHED, r * measured, durationMs + 60_000);
  }
  const c = process.cpuUsage(c0);
  return c.user + c.system;
}

/** CPU per op in ns, from `runRounds`' µs and the ops of every round of every worker (undefined if none ran). */
export function cpuNsPerOp(cpuUs: number, rounds: readonly (readonly Round[] | undefined)[]): number | undefined {
  const ops = rounds.reduce((s, rs) => s + (rs ?? []).reduce((a, r) => a + r.ops, 0), 0);
  return ops > 0 ? Math.round((cpuUs * 1000) / ops) : undefined;
}

export function arrive(words: Int32Array, index: number, by = 1): void {
  Atomics.add(words, index, by);
  Atomics.notify(words, index);
}

/** One worker's measured round. */
export interface Round {
  ops: number;
  elapsedMs: number;
}

/** A cell's rounds, as every worker of it sees them. */
export interface RoundPlan {
  /** Threads that take part in the cell's barriers (measured ones, plus any server thread). */
  participants: number;
  /** Threads whose rounds are measured. */
  measured: number;
  rounds: number;
  durationMs: number;
}

/** Report this worker set up, then wait until every participant has. */
export async function ready(coord: Int32Array, plan: RoundPlan): Promise<void> {
  arrive(coord, READY);
  await waitUntilAtLeast(coord, READY, plan.participants);
}

/** One measured window: run ops until `end` (performance.now() ms); return the count. */
export type Window = (end: number) => number | Promise<number>;

/**
 * Report prepared, then run one window per round the harness starts.
 * Rounds are separated by a barrier, so every worker measures the same
 * stretch of time; the harness takes the median round.
 */
export async function measureRounds(coord: Int32Array, plan: RoundPlan, window: Window): Promise<Round[]> {
  arrive(coord, PREPARED);
  const rounds: Round[] = [];
  for (let r = 1; r <= plan.rounds; r++) {
    await waitUntilAtLeast(coord, ROUND, r);
    const t0 = performance.now();
    const ops = await window(t0 + plan.durationMs);
    rounds.push({ ops, elapsedMs: performance.now() - t0 });
    arrive(coord, FINISHED);
  }
  // Nobody leaves (a node would strand its clients) until everyone is done.
  await waitUntilAtLeast(coord, FINISHED, plan.rounds * plan.measured);
  return rounds;
}

/**
 * The rounds of a pipelined message client on `port`: each round sends
 * `window` requests at once (`send()` sends one), then one more per reply
 * until the round's end, then waits for the replies still in flight.
 */
export function measurePipelined(coord: Int32Array, plan: RoundPlan, port: MessagePort, window: number, send: () => void): Promise<Round[]> {
  let reply: () => void = () => {};
  port.on('message', () => reply());
  return measureRounds(coord, plan, (end) => {
    const round = pipelinedRound(window, end, send);
    reply = round.reply;
    return round.done;
  });
}

/** One round of `measurePipelined`: call `reply()` per response; `done` resolves with the count. */
function pipelinedRound(window: number, end: number, send: () => void): { done: Promise<number>; reply: () => void } {
  let resolve: (n: number) => void = () => {};
  const done = new Promise<number>((r) => (resolve = r));
  let answered = 0;
  let inFlight = 0;
  let stopping = false;
  const sendOne = (): void => {
    inFlight++;
    send();
  };
  const reply = (): void => {
    inFlight--;
    answered++;
    if (!stopping && (answered & 63) === 0 && performance.now() >= end) stopping = true;
    if (!stopping) sendOne();
    else if (inFlight === 0) resolve(answered);
  };
  for (let j = 0; j < window; j++) sendOne();
  return { done, reply };
}
