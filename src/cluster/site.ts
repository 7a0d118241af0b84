/**
 * A site: one process's share of a clustered structure. `createSite()` (in
 * the process's main thread) checks the stream, makes the local NR log,
 * and starts the bridge worker; `site.replicaData()` gives what one replica
 * worker needs to `attachSite()`. See docs/cluster.md.
 */
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { ConnectionOptions } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createHandle, type NrHandle } from '../nr/index.js';
import type { BridgeConfig } from './bridge.js';
import { CLUSTER_DEFAULTS, CLUSTER_LIMITS, type Consistency } from './defaults.js';
import { ClusterConfigError, clusterErrorFrom, SiteClosedError, type WireError } from './errors.js';
import { untilDeadline } from './retry.js';
import { Positions } from './positions.js';
import { siteStructure } from './site-structure.js';
import { checkStream, checkKnown, checkServers, checkStreamName, connectNats } from './stream.js';
import { checkStructureRef, loadStructure, type StructureRef } from './structure-ref.js';

export interface SiteOptions {
  /** The structure, by module and export (the bridge worker imports it). */
  structure: StructureRef;
  /** NATS server URLs of the cluster. */
  servers: string[] | string;
  /** The JetStream stream (made by createStream for this structure). */
  stream: string;
  /** Replica workers this site will attach (default 2). */
  replicas?: number;
  /** Default read consistency of the site's replicas (default 'linearizable'). */
  consistency?: Consistency;
  writeTimeoutMs?: number;
  readTimeoutMs?: number;
  publishAttemptMs?: number;
  /** The local log's size (default 2 MiB). */
  logBytes?: number;
  /** Options for the NATS client's connect (servers excluded), e.g. `ignoreClusterUpdates`. */
  nats?: Partial<ConnectionOptions>;
}
const SITE_KEYS = ['structure', 'servers', 'stream', 'replicas', 'consistency', 'writeTimeoutMs', 'readTimeoutMs', 'publishAttemptMs', 'logBytes', 'nats'];

/** What a replica worker gets (structured-cloneable; the port travels in the transfer list). */
export interface SiteReplicaData {
  readonly kind: 'nr-cluster-replica';
  readonly handle: NrHandle;
  readonly port: MessagePort;
  readonly positions: SharedArrayBuffer;
  readonly site: number;
  readonly fingerprint: number;
  readonly consistency: Consistency;
  readonly writeTimeoutMs: number;
  readonly readTimeoutMs: number;
  /** The largest batch a replica sends: what a stream message and an entry of this site's local log both hold. */
  readonly maxBatchBytes: number;
}

export interface Site {
  readonly id: number;
  readonly handle: NrHandle;
  /** For one replica worker: pass `data` in workerData and `transferList` beside it. */
  replicaData(): { data: SiteReplicaData; transferList: MessagePort[] };
  /** Stop the bridge (replicas' later writes and linearizable reads fail with SiteClosedError or time out). */
  close(): Promise<void>;
  /** Resolves with the error if the bridge stopped on its own (fail-stop). */
  readonly failed: Promise<Error>;
}

function positiveMs(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ClusterConfigError(`${name} must be a positive number of milliseconds`);
  return v;
}

/** The compiled bridge worker beside this module (from dist/ when this runs as TypeScript source, as in tests). */
function bridgeWorkerUrl(): URL {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return new URL('./bridge-worker.js', import.meta.url);
  const dist = here.replace(/([\\/])src([\\/])cluster([\\/])[^\\/]+\.ts$/, '$1dist$2src$3cluster$3bridge-worker.js');
  if (!existsSync(dist)) throw new ClusterConfigError(`the bridge worker runs compiled JavaScript: build first (${dist} is missing)`);
  return new URL(`file://${dist}`);
}

export async function createSite(options: SiteOptions): Promise<Site> {
  checkKnown('createSite', options, SITE_KEYS);
  if (options === null || typeof options !== 'object') throw new ClusterConfigError('createSite needs options');
  const ref = checkStructureRef(options.structure);
  const stream = checkStreamName(options.stream);
  const servers = checkServers(options.servers);
  const replicas = options.replicas ?? CLUSTER_DEFAULTS.replicas;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 63) throw new ClusterConfigError('replicas must be an integer from 1 to 63');
  const consistency = options.consistency ?? CLUSTER_DEFAULTS.consistency;
  if (consistency !== 'linearizable' && consistency !== 'sequential') throw new ClusterConfigError(`consistency must be 'linearizable' or 'sequential'`);
  const writeTimeoutMs = positiveMs('writeTimeoutMs', options.writeTimeoutMs, CLUSTER_DEFAULTS.writeTimeoutMs);
  const readTimeoutMs = positiveMs('readTimeoutMs', options.readTimeoutMs, CLUSTER_DEFAULTS.readTimeoutMs);
  const publishAttemptMs = positiveMs('publishAttemptMs', options.publishAttemptMs, CLUSTER_DEFAULTS.publishAttemptMs);
  const nats = options.nats ?? {};
  if (nats === null || typeof nats !== 'object' || 'servers' in nats) throw new ClusterConfigError('nats must be an object of NATS connect options, without servers');

  const user = await loadStructure(ref);
  // Typed errors at attach: the stream is missing, or made for another structure; requests that fail while the
  // cluster elects a leader are retried until readTimeoutMs, then ClusterUnavailableError.
  // Each attempt connects afresh (the client picks a server at random) and each request waits publishAttemptMs, so a
  // server that does not answer yet (just restarted, its JetStream catching up) is routed around within the bound.
  const deadline = performance.now() + readTimeoutMs;
  const attemptMs = Math.min(publishAttemptMs, readTimeoutMs);
  await untilDeadline('attach', deadline, async (left) => {
    const nc = await connectNats(servers, { ...nats, maxReconnectAttempts: 0, timeout: Math.max(1, Math.min(left, attemptMs)) });
    try {
      await checkStream(await jetstreamManager(nc, { timeout: attemptMs, checkAPI: false }), stream, user, Math.min(deadline, performance.now() + 2 * attemptMs));
    } finally {
      await nc.close().catch(() => {});
    }
  });

  const logBytes = options.logBytes ?? CLUSTER_DEFAULTS.logBytes;
  if (!Number.isSafeInteger(logBytes) || logBytes < CLUSTER_LIMITS.minLogBytes) throw new ClusterConfigError(`logBytes must be an integer of at least ${CLUSTER_LIMITS.minLogBytes}`);
  // A local log entry holds a quarter of the log (at most 1 MiB); the bridge's apply op adds its header to the batch.
  const maxBatchBytes = Math.min(CLUSTER_LIMITS.maxBatchBytes, Math.min(Math.floor(logBytes / 4), 1024 * 1024) - CLUSTER_LIMITS.localEntryReserveBytes);
  const handle = createHandle(siteStructure(user), { replicas: replicas + 1, logBytes });
  const positions = Positions.create();
  const id = randomInt(1, 0xffffffff);
  const config: BridgeConfig = { handle, positions: positions.buffer, stream, servers, nats: nats as Record<string, unknown>, writeTimeoutMs, readTimeoutMs, publishAttemptMs, site: id, logBytes };
  const bridge = new Worker(bridgeWorkerUrl(), { workerData: { config, structure: ref } });
  let closed = false;
  let failWith: (e: Error) => void = () => {};
  const failed = new Promise<Error>((r) => (failWith = r));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new SiteClosedError(`the bridge did not start within ${CLUSTER_DEFAULTS.startTimeoutMs} ms`)), CLUSTER_DEFAULTS.startTimeoutMs);
    bridge.on('message', (m: { t: string; err?: WireError }) => {
      if (m.t === 'ready') {
        clearTimeout(timer);
        resolve();
      } else if (m.t === 'error') {
        clearTimeout(timer);
        reject(clusterErrorFrom(m.err!));
      } else if (m.t === 'failed') failWith(clusterErrorFrom(m.err!));
    });
    bridge.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
      failWith(e);
    });
    bridge.once('exit', (code) => {
      clearTimeout(timer);
      reject(new SiteClosedError(`the bridge exited (code ${code}) before it was ready`));
      if (!closed) failWith(new SiteClosedError(`the bridge exited (code ${code})`));
    });
  }).catch(async (e: unknown) => {
    await bridge.terminate();
    throw e;
  });

  return {
    id,
    handle,
    failed,
    replicaData() {
      if (closed) throw new SiteClosedError();
      const { port1, port2 } = new MessageChannel();
      bridge.postMessage({ t: 'port', port: port2 }, [port2]);
      const data: SiteReplicaData = { kind: 'nr-cluster-replica', handle, port: port1, positions: positions.buffer, site: id, fingerprint: user.fingerprint, consistency, writeTimeoutMs, readTimeoutMs, maxBatchBytes };
      return { data, transferList: [port1] };
    },
    async close() {
      if (closed) return;
      closed = true;
      const done = new Promise<void>((r) => bridge.once('exit', () => r()));
      bridge.on('message', (m: { t: string }) => {
        if (m.t === 'closed') void bridge.terminate();
      });
      bridge.postMessage({ t: 'close' });
      const timer = setTimeout(() => void bridge.terminate(), 5_000);
      await done;
      clearTimeout(timer);
    },
  };
}
