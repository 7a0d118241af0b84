/**
 * Test worker for the trust tests (issue 11): a thread that runs the
 * commands it is sent, one at a time, as a replica of `Trust` and/or as a
 * client of some node, and answers each with its outcome (a value or the
 * error's name, code, `committed` and message). Async ops answer when they
 * settle, so several can be in flight. See test/support/trust-worker.ts.
 * On a parallel-logs handle it attaches (connects) with attachCnr
 * (connectCnr) and TrustCnr; `status` is then 'live' when every log's
 * replica is, else the list of them, and `stats` is the view's (per log).
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import {
  attach,
  attachCnr,
  connect,
  connectCnr,
  type AttachOptions,
  type Client,
  type CnrHandle,
  type CnrReplica,
  type ConnectOptions,
  type NrHandle,
  type Replica,
} from '../../src/nr/index.js';
import { setSlowness, Trust, TrustCnr, type TrustState } from '../support/trust-structure.js';
import { describeError, type TrustCommand, type TrustReply } from '../support/trust-protocol.js';

const { handle, control } = workerData as { handle: NrHandle | CnrHandle; control: SharedArrayBuffer };
const gate = new Int32Array(control);
type TrustReplica = Replica<TrustState, typeof Trust.reads, typeof Trust.writes>;
type TrustClient = Client<TrustState, typeof Trust.reads, typeof Trust.writes>;
let replica: TrustReplica | null = null;
let client: TrustClient | null = null;
const cnr = handle.kind === 'node-replication/cnr' ? handle : null;
/** What this worker's commands use of a replica or view: the same on one log and on several. */
function attachTrust(options: AttachOptions): TrustReplica {
  if (cnr === null) return attach(handle as NrHandle, Trust, options);
  const v: CnrReplica<TrustState, typeof Trust.reads, typeof Trust.writes> = attachCnr(cnr, TrustCnr, options);
  const statuses = (): string[] => v.stats().logs.map((s) => s.status);
  return Object.assign(v, {
    id: v.slot,
    status: () => (statuses().every((x) => x === 'live') ? 'live' : statuses()),
  }) as unknown as TrustReplica;
}

setSlowness({ onSlowStart: (what) => parentPort!.postMessage({ event: 'slowStart', what }) });

const need = <T>(x: T | null, what: string): T => {
  if (x === null) throw new Error(`no ${what} in this worker`);
  return x;
};

/** Runs one command; a returned promise is an async op. */
function run(c: TrustCommand): unknown {
  switch (c.cmd) {
    case 'attach':
      replica = attachTrust((c.options ?? {}) as AttachOptions);
      return replica.id;
    case 'slowness':
      setSlowness(c.slowness);
      return null;
    case 'write':
      return (need(replica, 'replica').write as (n: string, ...a: unknown[]) => unknown)(c.op, ...c.args);
    case 'writeAsync':
      return (need(replica, 'replica').writeAsync as (n: string, ...a: unknown[]) => Promise<unknown>)(c.op, ...c.args);
    case 'read':
      return (need(replica, 'replica').read as (n: string, ...a: unknown[]) => unknown)(c.op, ...c.args);
    case 'puts': {
      // Sequential sync puts; reports how long the slowest took.
      const r = need(replica, 'replica');
      let slowest = 0;
      for (const [k, v] of c.entries) {
        const t0 = performance.now();
        r.writes.put(k, v);
        slowest = Math.max(slowest, performance.now() - t0);
      }
      return slowest;
    }
    case 'putEach': {
      // Sync puts, each answered on its own: a value or the error it threw.
      const r = need(replica, 'replica');
      return c.entries.map(([k, v]) => {
        try {
          return { ok: true, value: r.writes.put(k, v) };
        } catch (e) {
          return { ok: false, error: describeError(e) };
        }
      });
    }
    case 'sync':
      need(replica, 'replica').sync();
      return null;
    case 'digest':
      return need(replica, 'replica').digest();
    case 'stats':
      return need(replica, 'replica').stats();
    case 'status':
      return need(replica, 'replica').status();
    case 'values':
      return c.keys.map((k) => need(replica, 'replica').reads.get(k) ?? null);
    case 'detach':
      need(replica, 'replica').detach();
      return null;
    case 'block': {
      // A long synchronous stretch: serves nobody until the gate opens (bounded).
      const end = performance.now() + c.ms;
      while (Atomics.load(gate, 0) === 0 && performance.now() < end) Atomics.wait(gate, 0, 0, Math.max(1, Math.min(20, end - performance.now())));
      return null;
    }
    case 'connect':
      client = (cnr === null ? connect(handle as NrHandle, Trust, (c.options ?? {}) as ConnectOptions) : connectCnr(cnr, TrustCnr, (c.options ?? {}) as ConnectOptions)) as unknown as TrustClient;
      return client.node;
    case 'cwrite':
      return (need(client, 'client').write as (n: string, ...a: unknown[]) => unknown)(c.op, ...c.args);
    case 'cwriteAsync':
      return (need(client, 'client').writeAsync as (n: string, ...a: unknown[]) => Promise<unknown>)(c.op, ...c.args);
    case 'cread':
      return (need(client, 'client').read as (n: string, ...a: unknown[]) => unknown)(c.op, ...c.args);
  }
}

parentPort!.on('message', (m: { id: number; command: TrustCommand }) => {
  const reply = (r: Omit<TrustReply, 'id'>): void => parentPort!.postMessage({ id: m.id, ...r });
  try {
    const out = run(m.command);
    if (out instanceof Promise) out.then((value: unknown) => reply({ ok: true, value }), (e: unknown) => reply({ ok: false, error: describeError(e) }));
    else reply({ ok: true, value: out });
  } catch (e) {
    reply({ ok: false, error: describeError(e) });
  }
});
parentPort!.postMessage({ event: 'online', threadId });
