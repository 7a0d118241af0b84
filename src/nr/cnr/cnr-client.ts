/**
 * A client of parallel logs: a thread without replicas, served by one node
 * (the replica slot that holds one replica per log). It is one NR client per
 * log, all of the same node: an op goes to its log's client ring, and that
 * log's replica on the node answers it, as in single-log NR. Ops mapped to
 * every log are not served to clients yet (LogMapperError, nothing sent):
 * the node's replicas answer their rings one log at a time, and a
 * multi-log op needs its issuer to take the order and drive every log.
 */
import { LogMapperError, UnknownOpError } from '../errors.js';
import type { Client } from '../clients/client.js';
import type { BoundReads, BoundWrites } from '../replica/bound-ops.js';
import type { OpArgs, OpResult, OpTable, Structure } from '../structure.js';
import { route, type CnrStructure, type LogMapper } from './mapper.js';

type AnyClient = Client<unknown, OpTable<unknown>, OpTable<unknown>>;
interface UntypedClientOps {
  read(name: string, ...args: readonly unknown[]): unknown;
  write(name: string, ...args: readonly unknown[]): unknown;
  readAsync(name: string, ...args: readonly unknown[]): Promise<unknown>;
  writeAsync(name: string, ...args: readonly unknown[]): Promise<unknown>;
}

export class CnrClient<S, R extends OpTable<S>, W extends OpTable<S>> {
  readonly node: number;
  readonly logs: number;
  /** Read ops by name, synchronous, as on a single-log client: `client.reads.get(key)`. */
  readonly reads: BoundReads<R>;
  /** Write ops by name, synchronous: `client.writes.put(key, value)`. */
  readonly writes: BoundWrites<W>;
  private readonly clients: AnyClient[] = [];
  private readonly structure: Structure<S, R, W>;
  private readonly mapper: LogMapper;

  /** @internal use connectCnr() */
  constructor(cnr: CnrStructure<S, R, W>, logs: number, connectLog: (log: number) => AnyClient) {
    this.structure = cnr.structure;
    this.mapper = cnr.mapper;
    this.logs = logs;
    try {
      for (let i = 0; i < logs; i++) this.clients.push(connectLog(i));
    } catch (e) {
      for (const c of this.clients) c.close();
      throw e;
    }
    this.node = this.clients[0]!.node;
    const read = this.read.bind(this) as (name: string, ...args: unknown[]) => unknown;
    const write = this.write.bind(this) as (name: string, ...args: unknown[]) => unknown;
    const reads: Record<string, (...a: unknown[]) => unknown> = {};
    for (const name of this.structure.readNames) reads[name] = (...args) => read(name, ...args);
    const writes: Record<string, (...a: unknown[]) => unknown> = {};
    for (const name of this.structure.writeNames) writes[name] = (...args) => write(name, ...args);
    this.reads = Object.freeze(reads) as unknown as BoundReads<R>;
    this.writes = Object.freeze(writes) as unknown as BoundWrites<W>;
  }

  read<K extends keyof R & string>(name: K, ...args: OpArgs<R[K]>): OpResult<R[K]> {
    return this.on('read', name, args).read(name, ...args) as OpResult<R[K]>;
  }

  write<K extends keyof W & string>(name: K, ...args: OpArgs<W[K]>): OpResult<W[K]> {
    return this.on('write', name, args).write(name, ...args) as OpResult<W[K]>;
  }

  readAsync<K extends keyof R & string>(name: K, ...args: OpArgs<R[K]>): Promise<OpResult<R[K]>> {
    try {
      return this.on('read', name, args).readAsync(name, ...args) as Promise<OpResult<R[K]>>;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  writeAsync<K extends keyof W & string>(name: K, ...args: OpArgs<W[K]>): Promise<OpResult<W[K]>> {
    try {
      return this.on('write', name, args).writeAsync(name, ...args) as Promise<OpResult<W[K]>>;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Give back this client's slot on every log. */
  close(): void {
    for (const c of this.clients) c.close();
  }

  /** The client of the log this op maps to. */
  private on(kind: 'read' | 'write', name: string, args: readonly unknown[]): UntypedClientOps {
    const ids = kind === 'read' ? this.structure.readIds : this.structure.writeIds;
    if (ids[name] === undefined) throw new UnknownOpError(kind, name);
    const i = route(this.mapper, name, args, this.logs);
    if (i < 0) throw new LogMapperError(`op '${name}' maps to every log: multi-log ops are not served to clients yet (issue it on a thread that holds the replicas)`);
    return this.clients[i] as unknown as UntypedClientOps;
  }
}
