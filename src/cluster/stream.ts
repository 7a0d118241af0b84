/**
 * The JetStream stream behind a structure: making it, and checking at
 * attach that it exists and was made for this structure. The stream's
 * description carries the structure's identity (name, version and the
 * fingerprint over its op names): `nr-cluster <name>@<version> #<hex>`.
 */
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import type { OpTable, Structure } from '../nr/index.js';
import { CLUSTER_DEFAULTS, subjectOf } from './defaults.js';
import { ClusterConfigError, StreamMismatchError, StreamNotFoundError } from './errors.js';

/** The identity a stream's description holds. */
export function streamIdentity(structure: { name: string; version: number; fingerprint: number }): string {
  return `nr-cluster ${structure.name}@${structure.version} #${(structure.fingerprint >>> 0).toString(16)}`;
}

/** Stream names JetStream accepts and subjects can carry (no dots, spaces, wildcards). */
const STREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
export function checkStreamName(stream: unknown): string {
  if (typeof stream !== 'string' || !STREAM_NAME.test(stream)) throw new ClusterConfigError(`stream must be 1-64 letters, digits, '_' or '-', got ${JSON.stringify(stream)}`);
  return stream;
}

export function checkServers(servers: unknown): string[] {
  const list = typeof servers === 'string' ? [servers] : servers;
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && s.length > 0)) {
    throw new ClusterConfigError('servers must be a non-empty array of NATS URLs (e.g. "nats://127.0.0.1:4222")');
  }
  return list as string[];
}

/** Connect to NATS with the site's options (the client's own options pass through `nats`). */
export function connectNats(servers: string[], nats: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  return connect({ maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 2_000, maxPingOut: 2, ...nats, servers });
}

function isStreamNotFound(e: unknown): boolean {
  const err = e as { code?: unknown; api_error?: { err_code?: number }; message?: string } | null;
  if (err === null || typeof err !== 'object') return false;
  return err.api_error?.err_code === 10059 || err.code === 10059 || /stream not found/i.test(err.message ?? '');
}

/** The stream's info, or a typed error: it does not exist, or it holds another structure. */
export async function checkStream(jsm: JetStreamManager, stream: string, structure: { name: string; version: number; fingerprint: number }): Promise<StreamInfo> {
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(stream);
  } catch (e) {
    if (isStreamNotFound(e)) throw new StreamNotFoundError(stream);
    throw e;
  }
  const expected = streamIdentity(structure);
  const found = info.config.description ?? '';
  if (found !== expected) throw new StreamMismatchError(stream, found, expected);
  return info;
}

export interface CreateStreamOptions {
  servers: string[] | string;
  stream: string;
  /** Raft replicas (default 3). */
  replicas?: number;
  /** Options for the NATS client's connect (servers excluded). */
  nats?: Partial<ConnectionOptions>;
}
const CREATE_KEYS = ['servers', 'stream', 'replicas', 'nats'];

/**
 * Make the stream for `structure` (file storage, `replicas` Raft replicas,
 * the de-duplication window of CLUSTER_DEFAULTS). If it exists for the same
 * structure this is a no-op; if it exists for another, StreamMismatchError.
 */
export async function createStream<S, R extends OpTable<S>, W extends OpTable<S>>(structure: Structure<S, R, W>, options: CreateStreamOptions): Promise<StreamInfo> {
  checkKnown('createStream', options, CREATE_KEYS);
  const stream = checkStreamName(options.stream);
  const servers = checkServers(options.servers);
  const replicas = options.replicas ?? CLUSTER_DEFAULTS.streamReplicas;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new ClusterConfigError('replicas must be an integer from 1 to 5');
  const nc = await connectNats(servers, { maxReconnectAttempts: 0, ...options.nats });
  try {
    const jsm = await jetstreamManager(nc);
    try {
      return await checkStream(jsm, stream, structure);
    } catch (e) {
      if (!(e instanceof StreamNotFoundError)) throw e;
    }
    return await jsm.streams.add({
      name: stream,
      subjects: [subjectOf(stream)],
      description: streamIdentity(structure),
      num_replicas: replicas,
      duplicate_window: CLUSTER_DEFAULTS.duplicateWindowMs * 1_000_000,
    });
  } finally {
    await nc.close();
  }
}

export function checkKnown(where: string, options: object | undefined, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') throw new ClusterConfigError(`${where}: options must be an object`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new ClusterConfigError(`${where}: unknown option '${key}' (known: ${known.join(', ')})`);
  }
}
