/**
 * A real 3-node nats-server cluster with JetStream for tests: free
 * 127.0.0.1 ports, its own temporary store directories, ready once
 * JetStream has a meta leader (an account-info request succeeds), stopped
 * (and its directories removed) by `stop()`. Servers can be killed and
 * restarted one at a time.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

/** The nats-server binary on PATH, or null. */
export function natsServerPath(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface NatsCluster {
  /** Client URLs, one per server. */
  readonly urls: string[];
  readonly ports: number[];
  /** The PIDs of the servers running now (for CPU accounting). */
  pids(): number[];
  /** SIGKILL server i (its store stays); resolves when it has exited. */
  kill(i: number): Promise<void>;
  /** Start server i again on the same ports and store. */
  restart(i: number): void;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startNatsCluster(nodes = 3, timeoutMs = 30_000): Promise<NatsCluster> {
  const bin = natsServerPath();
  if (bin === null) throw new Error('nats-server is not on PATH');
  const dir = mkdtempSync(join(tmpdir(), 'nr-nats-'));
  const ports: number[] = [];
  const routes: number[] = [];
  for (let i = 0; i < nodes; i++) {
    ports.push(await freePort());
    routes.push(await freePort());
  }
  const procs: (ChildProcess | null)[] = new Array(nodes).fill(null);
  const start = (i: number): void => {
    const others = routes.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`).join(',');
    const p = spawn(bin, [
      '-js', '-a', '127.0.0.1', '-p', String(ports[i]), '-n', `n${i}`,
      '--cluster_name', 'nrtest', '--cluster', `nats://127.0.0.1:${routes[i]}`, '--routes', others,
      '-sd', join(dir, `n${i}`),
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr!.resume();
    procs[i] = p;
  };
  for (let i = 0; i < nodes; i++) start(i);
  const urls = ports.map((p) => `nats://127.0.0.1:${p}`);
  const cluster: NatsCluster = {
    urls,
    ports,
    pids: () => procs.flatMap((p) => (p && p.exitCode === null && p.pid !== undefined ? [p.pid] : [])),
    async kill(i) {
      const p = procs[i];
      if (!p || p.exitCode !== null) return;
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGKILL');
      await exited;
      procs[i] = null;
    },
    restart(i) {
      if (procs[i]) throw new Error(`server ${i} is running`);
      start(i);
    },
    async stop() {
      for (let i = 0; i < nodes; i++) await cluster.kill(i);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitForMetaLeader(urls, timeoutMs);
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}

/**
 * Resolves once JetStream answers an account-info request through every
 * server (a meta leader exists) and an R3 stream can be placed (every
 * server has joined the meta group): then made and deleted again.
 */
export async function waitForMetaLeader(urls: string[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const attempt = async (url: string, probe: boolean): Promise<void> => {
    for (;;) {
      try {
        const nc = await connect({ servers: url, maxReconnectAttempts: 0, timeout: 1_000 });
        try {
          const jsm = await jetstreamManager(nc, { timeout: 2_000 });
          await jsm.getAccountInfo();
          if (probe) {
            await jsm.streams.add({ name: 'NR_PROBE', subjects: ['nr.probe'], num_replicas: urls.length });
            await jsm.streams.delete('NR_PROBE');
          }
          return;
        } finally {
          await nc.close();
        }
      } catch (e) {
        if (performance.now() > deadline) throw new Error(`JetStream was not ready within ${timeoutMs} ms: ${(e as Error).message}`);
        await sleep(200);
      }
    }
  };
  for (const url of urls) await attempt(url, false);
  await attempt(urls[0]!, true);
}
