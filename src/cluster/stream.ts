/**
 * The JetStream streams behind a structure: making them, and checking at
 * attach that they exist and were made for this structure. The log
 * stream's description carries the structure's identity (name, version and
 * the fingerprint over its op names): `nr-cluster <name>@<version> #<hex>`;
 * its snapshot stream (`<stream>_SNAP`, subjects `nr.<stream>.snap.>`)
 * says `nr-cluster snapshots of <stream>: <identity>`. The log's retention
 * is bounded (max_msgs, max_bytes, oldest discarded); the snapshot stream
 * is trimmed by the sites that write to it (snapshots.ts).
 */
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, jetstreamManager, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import type { OpTable, Structure } from '../nr/index.js';
import { CLUSTER_DEFAULTS, snapshotStreamOf, subjectOf } from './defaults.js';
import { ClusterConfigError, StreamMismatchError, StreamNotFoundError } from './errors.js';
import { untilDeadline } from './retry.js';

type Identity = { name: string; version: number; fingerprint: number };

/** The identity a stream's description holds. */
export function streamIdentity(structure: Identity): string {
  return `nr-cluster ${structure.name}@${structure.version} #${(structure.fingerprint >>> 0).toString(16)}`;
}

/** The description of a stream's snapshot stream. */
export function snapshotStreamIdentity(stream: string, structure: Identity): string {
  return `nr-cluster snapshots of ${stream}: ${streamIdentity(structure)}`;
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

/** A stream's info, or StreamNotFoundError; other failures are the client's (untilDeadline retries them). */
async function streamInfo(jsm: JetStreamManager, stream: string): Promise<StreamInfo> {
  try {
    return await jsm.streams.info(stream);
  } catch (e) {
    if (isStreamNotFound(e)) throw new StreamNotFoundError(stream);
    throw e;
  }
}

function checkIdentity(info: StreamInfo, stream: string, expected: string): StreamInfo {
  const found = info.config.description ?? '';
  if (found !== expected) throw new StreamMismatchError(stream, found, expected);
  return info;
}

/**
 * The log stream's info, or a typed error: it does not exist, it or its
 * snapshot stream holds another structure (StreamNotFoundError,
 * StreamMismatchError), or the cluster gave no answer by `deadline`
 * (ClusterUnavailableError: requests are retried through a leader election
 * until then).
 */
export async function checkStream(jsm: JetStreamManager, stream: string, structure: Identity, deadline: number): Promise<StreamInfo> {
  const info = await untilDeadline(`stream '${stream}'`, deadline, async () => checkIdentity(await streamInfo(jsm, stream), stream, streamIdentity(structure)));
  const snaps = snapshotStreamOf(stream);
  await untilDeadline(`stream '${snaps}'`, deadline, async () => checkIdentity(await streamInfo(jsm, snaps), snaps, snapshotStreamIdentity(stream, structure)));
  return info;
}

/** The same request, again, until the deadline (a leader election in between). */
export function streamInfoUntil(jsm: JetStreamManager, stream: string, deadline: number): Promise<StreamInfo> {
  return untilDeadline(`stream '${stream}'`, deadline, () => streamInfo(jsm, stream));
}

export interface CreateStreamOptions {
  servers: string[] | string;
  stream: string;
  /** Raft replicas (default 3). */
  replicas?: number;
  /** Retention: the stream keeps at most this many messages, discarding the oldest (default CLUSTER_DEFAULTS.maxMessages). */
  maxMessages?: number;
  /** Retention: the stream keeps at most this many bytes, discarding the oldest messages (default CLUSTER_DEFAULTS.maxBytes). */
  maxBytes?: number;
  /** Options for the NATS client's connect (servers excluded). */
  nats?: Partial<ConnectionOptions>;
}
const CREATE_KEYS = ['servers', 'stream', 'replicas', 'maxMessages', 'maxBytes', 'nats'];

function retentionOption(name: string, v: unknown, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new ClusterConfigError(`${name} must be an integer of at least ${min}`);
  return v;
}

/**
 * Make the streams for `structure`: the log (file storage, `replicas` Raft
 * replicas, the de-duplication window of CLUSTER_DEFAULTS, retention
 * `maxMessages` / `maxBytes` with the oldest discarded) and its snapshot
 * stream. If they exist for the same structure this is a no-op (a missing
 * snapshot stream is made; the retention of an existing log is kept); if
 * one exists for another structure, StreamMismatchError.
 */
export async function createStream<S, R extends OpTable<S>, W extends OpTable<S>>(structure: Structure<S, R, W>, options: CreateStreamOptions): Promise<StreamInfo> {
  checkKnown('createStream', options, CREATE_KEYS);
  const stream = checkStreamName(options.stream);
  const servers = checkServers(options.servers);
  const replicas = options.replicas ?? CLUSTER_DEFAULTS.streamReplicas;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new ClusterConfigError('replicas must be an integer from 1 to 5');
  // At least one message per snapshot interval, and room for a snapshot's chunk-sized messages.
  const maxMessages = retentionOption('maxMessages', options.maxMessages, CLUSTER_DEFAULTS.maxMessages, CLUSTER_DEFAULTS.snapshotsPerRetention);
  const maxBytes = retentionOption('maxBytes', options.maxBytes, CLUSTER_DEFAULTS.maxBytes, 4 * 1024 * 1024);
  const nc = await connectNats(servers, { maxReconnectAttempts: 0, ...options.nats });
  try {
    const jsm = await jetstreamManager(nc);
    const duplicate_window = CLUSTER_DEFAULTS.duplicateWindowMs * 1_000_000;
    const ensure = async (name: string, description: string, make: () => Promise<StreamInfo>): Promise<StreamInfo> => {
      try {
        return checkIdentity(await streamInfo(jsm, name), name, description);
      } catch (e) {
        if (!(e instanceof StreamNotFoundError)) throw e;
      }
      return make();
    };
    const info = await ensure(stream, streamIdentity(structure), () =>
      jsm.streams.add({
        name: stream,
        subjects: [subjectOf(stream)],
        description: streamIdentity(structure),
        num_replicas: replicas,
        duplicate_window,
        max_msgs: maxMessages,
        max_bytes: maxBytes,
        discard: DiscardPolicy.Old,
      }),
    );
    const snaps = snapshotStreamOf(stream);
    await ensure(snaps, snapshotStreamIdentity(stream, structure), () =>
      jsm.streams.add({ name: snaps, subjects: [`nr.${stream}.snap.>`], description: snapshotStreamIdentity(stream, structure), num_replicas: info.config.num_replicas, duplicate_window }),
    );
    return info;
  } finally {
    await nc.close();
  }
}

export function checkKnown(where: string, options: object | undefined, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') throw new ClusterConfigError(`${where}: options must be an object`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new ClusterConfigError(`${where}: unknown option '${key}' (known: ${known.join(', ')})`);
    // No option takes null: read as "the default" it would hide a caller's bug.
    if ((options as Record<string, unknown>)[key] === null) throw new ClusterConfigError(`${where}: option '${key}' is null (leave it out, or undefined, for the default)`);
  }
}
