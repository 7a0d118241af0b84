/**
 * Drives test sites: each a separate Node process (test/workers/cluster-site)
 * with replica workers, commanded over IPC; histories read back from the
 * files the replica workers append to.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { HashMapOperation } from '../../src/lincheck/index.js';
import { startNatsCluster, type NatsCluster } from './nats-cluster.js';
import { workerPath } from './spawn.js';

export interface SiteProcess {
  readonly proc: ChildProcess;
  readonly history: string;
  readonly replicas: number;
  /** Run one command on replica i; resolves with its { ok } or { err } and its duration. */
  cmd(replica: number, cmd: Record<string, unknown>, timeoutMs?: number): Promise<{ ok?: unknown; err?: { name: string; code?: string; committed?: unknown; message: string }; ms: number }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  exit(): Promise<void>;
}

export interface SiteStart {
  servers: string[];
  stream: string;
  replicas: number;
  history: string;
  writeTimeoutMs?: number;
  readTimeoutMs?: number;
  nats?: Record<string, unknown>;
  /** The site process's script under test/workers (default 'cluster-site', the hashmap). */
  worker?: string;
  /** For 'cluster-kv-site': the store's key and parameters, hex. */
  kv?: { key: string; storeId: string; kcv: string };
}

export class SiteStartError extends Error {
  constructor(readonly code: string | undefined, readonly errName: string | undefined, message: string) {
    super(message);
  }
}

export async function startSite(start: SiteStart, timeoutMs = 30_000): Promise<SiteProcess> {
  const proc = fork(workerPath(start.worker ?? 'cluster-site'), [], { env: { ...process.env, NR_CLUSTER_SITE: JSON.stringify(start) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  let nextId = 1;
  const waiting = new Map<number, (r: never) => void>();
  const gone = new Map<number, (e: Error) => void>();
  proc.once('exit', (code, signal) => {
    for (const fail of gone.values()) fail(new Error(`site exited (${signal ?? code}) before it answered`));
    gone.clear();
    waiting.clear();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`site did not start within ${timeoutMs} ms`)), timeoutMs);
    proc.on('message', (m: { t: string; id?: number; result?: unknown; code?: string; name?: string; message?: string }) => {
      if (m.t === 'ready') {
        clearTimeout(timer);
        resolve();
      } else if (m.t === 'error') {
        clearTimeout(timer);
        reject(new SiteStartError(m.code, m.name, m.message ?? 'site failed'));
      } else if (m.t === 'reply') {
        const w = waiting.get(m.id!);
        waiting.delete(m.id!);
        w?.(m.result as never);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`site exited (code ${code}) before it was ready`));
    });
  }).catch(async (e: unknown) => {
    proc.kill('SIGKILL');
    await exited;
    throw e;
  });
  return {
    proc,
    history: start.history,
    replicas: start.replicas,
    cmd(replica, cmd, ms = 30_000) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        gone.set(id, (e) => {
          clearTimeout(timer);
          reject(e);
        });
        const timer = setTimeout(() => {
          waiting.delete(id);
          gone.delete(id);
          reject(new Error(`command ${JSON.stringify(cmd)} on replica ${replica} got no reply within ${ms} ms`));
        }, ms);
        waiting.set(id, ((r: never) => {
          gone.delete(id);
          clearTimeout(timer);
          resolve(r);
        }) as (r: never) => void);
        proc.send({ t: 'cmd', id, replica, cmd });
      });
    },
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await exited;
    },
    async exit() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.send({ t: 'exit' });
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

type Line =
  | { k: 'call'; c: number; i: number; input: { op: 'put' | 'get'; key: string; value?: string }; t: number }
  | { k: 'ret'; c: number; i: number; output: string | null; t: number }
  | { k: 'err'; c: number; i: number; err: { code?: string; committed?: unknown }; t: number };

/**
 * The history in the files of `sites`' replicas: a write that failed with
 * `committed: false` and a read that failed are dropped (they took no
 * effect and returned nothing); a write with no answer, or failed with
 * `committed: 'unknown'`, is pending (it may have taken effect).
 */
export function readHistory(files: string[]): { ops: HashMapOperation<string>[]; answered: number; pending: number; failedReads: number } {
  const calls = new Map<string, Extract<Line, { k: 'call' }>>();
  const ends = new Map<string, Exclude<Line, { k: 'call' }>>();
  for (const f of files) {
    if (!existsSync(f)) continue;
    for (const text of readFileSync(f, 'utf8').split('\n')) {
      if (text === '') continue;
      let l: Line;
      try {
        l = JSON.parse(text) as Line;
      } catch {
        continue; // the torn last line of a killed process
      }
      const id = `${l.c}/${l.i}`;
      if (l.k === 'call') calls.set(id, l);
      else ends.set(id, l);
    }
  }
  const ops: HashMapOperation<string>[] = [];
  let answered = 0;
  let pending = 0;
  let failedReads = 0;
  for (const [id, call] of calls) {
    const end = ends.get(id);
    const input = call.input.op === 'put' ? { op: 'put' as const, key: call.input.key, value: call.input.value! } : { op: 'get' as const, key: call.input.key };
    if (end?.k === 'ret') {
      ops.push({ client: call.c, input, call: call.t, ret: end.t, output: end.output ?? undefined });
      answered++;
    } else if (end?.k === 'err' && (input.op === 'get' || end.err.committed === false)) {
      if (input.op === 'get') failedReads++;
    } else {
      ops.push({ client: call.c, input, call: call.t });
      pending++;
    }
  }
  return { ops, answered, pending, failedReads };
}

/**
 * A 3-node nats-server cluster and a temporary directory for one describe
 * block: started before its tests, and after them the sites in `sites`
 * killed, the cluster stopped, the directory removed.
 */
export interface ClusterFixture {
  readonly nats: NatsCluster;
  readonly dir: string;
  readonly sites: SiteProcess[];
}

export function useNatsCluster(prefix: string): ClusterFixture {
  const f = { sites: [] as SiteProcess[] } as { nats: NatsCluster; dir: string; sites: SiteProcess[] };
  beforeAll(async () => {
    f.dir = mkdtempSync(join(tmpdir(), prefix));
    f.nats = await startNatsCluster(3);
  }, 40_000);
  afterAll(async () => {
    await Promise.all(f.sites.map((s) => s.kill()));
    await f.nats?.stop();
    if (f.dir) rmSync(f.dir, { recursive: true, force: true });
  }, 30_000);
  return f;
}
