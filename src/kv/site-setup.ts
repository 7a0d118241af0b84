/**
 * Setting up the secure KV on a cluster (docs/kv.md "On a cluster"):
 * `createKvStream` (once: the streams and the store's parameters) and
 * `createKvSite` (in a site process's main thread: checks the key, starts
 * the site with the KV's stream structure, made in the bridge worker from
 * the key and parameters). Replica workers attach with `attachKvSite`
 * (site.ts).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
// The cluster's modules, not its index (which re-exports this one).
import { createSite, type Site, type SiteOptions, type SiteReplicaData } from '../cluster/site.js';
import { createStream, type CreateStreamOptions } from '../cluster/stream.js';
import { KvConfigError, KvTypeError } from './errors.js';
import { checkStreamParams, type KvStreamParams, newStreamParams, streamCipher } from './stream-record.js';
import { kvStreamStructureFor } from './stream-structure.js';

/** The compiled structure module beside this one (from dist/ when this runs as TypeScript source, as in tests): the bridge worker imports it. */
function structureModule(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return fileURLToPath(new URL('./stream-structure.js', import.meta.url));
  const dist = here.replace(/([\\/])src([\\/])kv([\\/])[^\\/]+\.ts$/, '$1dist$2src$3kv$3stream-structure.js');
  if (!existsSync(dist)) throw new KvConfigError(`the KV site's structure runs compiled JavaScript: build first (${dist} is missing)`);
  return dist;
}

export interface KvStreamOptions extends CreateStreamOptions {
  /** The store's 32-byte master key. */
  key: Uint8Array;
}

/**
 * Make the streams of a new KV store and return its parameters (give them,
 * with the key, to every site). The stream's identity names the store, so
 * calling this for a stream that already holds another store is
 * StreamMismatchError.
 */
export async function createKvStream(options: KvStreamOptions): Promise<KvStreamParams> {
  if (options === null || typeof options !== 'object') throw new KvConfigError('createKvStream needs options');
  const { key, ...rest } = options;
  const store = newStreamParams(checkKey(key));
  await createStream(kvStreamStructureFor({ key, store }), rest);
  return store;
}

export function checkKey(key: unknown): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new KvTypeError('key must be a 32-byte Uint8Array');
  return key;
}

export interface KvSiteOptions extends Omit<SiteOptions, 'structure'> {
  key: Uint8Array;
  /** The parameters createKvStream returned. */
  store: KvStreamParams;
}

/** What one replica worker gets from `KvSiteHandle.replicaData()` (structured-cloneable; the port travels in the transfer list). */
export interface KvSiteReplicaData {
  readonly kind: 'nr-kv-site';
  readonly site: SiteReplicaData;
  readonly store: KvStreamParams;
}

export interface KvSiteHandle {
  readonly site: Site;
  replicaData(): { data: KvSiteReplicaData; transferList: MessagePort[] };
  close(): Promise<void>;
}

/** Start a KV site (in the process's main thread): WrongKeyError for a key that is not the store's, the cluster's typed errors for the stream. */
export async function createKvSite(options: KvSiteOptions): Promise<KvSiteHandle> {
  if (options === null || typeof options !== 'object') throw new KvConfigError('createKvSite needs options');
  const { key, store: given, ...rest } = options;
  if ('structure' in rest) throw new KvConfigError('createKvSite: unknown option \'structure\' (the KV site brings its own)');
  const store = checkStreamParams(given);
  streamCipher(store, checkKey(key)).zero(); // WrongKeyError here, at the call site
  const site = await createSite({ ...rest, structure: { module: structureModule(), export: 'kvStreamStructureFor', data: { key: new Uint8Array(key), store } } });
  return {
    site,
    replicaData() {
      const { data, transferList } = site.replicaData();
      return { data: { kind: 'nr-kv-site', site: data, store }, transferList };
    },
    close: () => site.close(),
  };
}
