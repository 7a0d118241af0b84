/**
 * Drives trust-node test workers: every call and every wait has a deadline,
 * so a hang in the runtime becomes a failed assertion, never a hung suite.
 * `terminateAll()` (in afterEach) ends every worker a test started.
 */
import { Worker } from 'node:worker_threads';
import type { CnrHandle, NrHandle } from '../../src/nr/index.js';
import { workerPath } from './spawn.js';
import type { TrustCommand, TrustReply } from './trust-protocol.js';

export class TimedOut extends Error {}

export interface TrustNode {
  worker: Worker;
  threadId: number;
  /** Resolves with the worker's answer, or rejects with TimedOut after `timeoutMs`. */
  call(command: TrustCommand, timeoutMs?: number): Promise<TrustReply>;
  /** Sends a command without waiting; the answer arrives through the returned promise (no deadline). */
  send(command: TrustCommand): Promise<TrustReply>;
  /** Resolves when the worker posts an event matching `pred`, or rejects with TimedOut. */
  event(pred: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<number>;
  /** The uncaught error that ended the worker, if one did. */
  crash(): string | null;
}

const started = new Set<Worker>();

export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut(`${what}: no outcome within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Start a worker; `control` word 0 opens the gate of its `block` command. */
export async function startTrustNode(handle: NrHandle | CnrHandle, control: SharedArrayBuffer = new SharedArrayBuffer(64)): Promise<TrustNode> {
  const worker = new Worker(workerPath('trust-node'), { workerData: { handle, control } });
  started.add(worker);
  const exited = new Promise<number>((r) => worker.once('exit', r));
  const pending = new Map<number, (r: TrustReply) => void>();
  const events: Record<string, unknown>[] = [];
  const eventWaiters: (() => void)[] = [];
  worker.on('message', (m: Record<string, unknown>) => {
    if (typeof m.id === 'number') {
      pending.get(m.id)?.(m as unknown as TrustReply);
      pending.delete(m.id);
    } else {
      events.push(m);
      for (const w of eventWaiters.splice(0)) w();
    }
  });
  let crash: string | null = null;
  worker.on('error', (e: Error) => (crash = `${e.name}: ${e.message}`)); // also surfaces as missing answers
  let nextId = 1;
  const send = (command: TrustCommand): Promise<TrustReply> =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      worker.postMessage({ id, command });
    });
  const event = (pred: (e: Record<string, unknown>) => boolean, timeoutMs = 10_000): Promise<Record<string, unknown>> =>
    withDeadline(
      (async () => {
        for (;;) {
          const i = events.findIndex(pred);
          if (i >= 0) return events.splice(i, 1)[0]!;
          await new Promise<void>((r) => eventWaiters.push(r));
        }
      })(),
      timeoutMs,
      'worker event',
    );
  const online = await event((e) => e.event === 'online', 20_000);
  return {
    worker,
    threadId: online.threadId as number,
    send,
    call: (command, timeoutMs = 10_000) => withDeadline(send(command), timeoutMs, `worker command ${command.cmd}`),
    event,
    exited,
    crash: () => crash,
  };
}

/** The value of a successful answer; throws with the error's description otherwise. */
export function valueOf(r: TrustReply): unknown {
  if (!r.ok) throw new Error(`worker op failed: ${r.error!.name} ${String(r.error!.code)}: ${r.error!.message}`);
  return r.value;
}

export async function terminateAll(): Promise<void> {
  const ws = [...started];
  started.clear();
  await Promise.all(ws.map((w) => w.terminate()));
}
