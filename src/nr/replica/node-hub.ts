/**
 * The seam between a replica and the clients it serves: the replica (layer
 * 1) knows its clients only through this interface, which the clients
 * layer's ClientHub implements; handle.ts wires the two together.
 */
import type { OpReader, ValueCodec } from '../codec.js';
import type { WaitAsyncResult } from '../log/wait.js';

/** Where a hub puts the requests it gathers: the replica's combiner. */
export interface HubHost {
  /** Queue a client's request (encoded arguments at `bytes[from, from+len)`) into the next batch. */
  enqueueClientOp(client: number, seq: number, isWrite: boolean, id: number, bytes: Uint8Array, from: number, len: number): void;
  /** Requests the host takes into one batch at most. */
  readonly batchRoom: number;
  /** Asked once per gather, before the first request is taken: false (the node was fenced) takes none. */
  mayTakeRequests(): boolean;
}

/** A node's side of its clients' slot rings. */
export interface NodeHub {
  /** Take every client's unanswered requests, in order, into the host's next batch. */
  gather(host: HubHost): number;
  /** A reader over request `seq`'s `bytes` argument bytes, the length validated when it was gathered (valid until it is answered). */
  requestArgs(client: number, seq: number, bytes: number): OpReader;
  respondOk(client: number, seq: number, codec: ValueCodec<unknown>, value: unknown): void;
  respondThrew(client: number, seq: number, error: unknown): void;
  /** Publish the answers of this round (after ctail covers their entries). */
  publish(): void;
  /** Some client has a request not yet answered. */
  hasWork(): boolean;
  clearDoorbell(): void;
  /** An async wait that resolves when a client rings. */
  waitDoorbell(): WaitAsyncResult;
  /** The node is leaving: its clients get NodeGoneError from now on. */
  close(): void;
  /**
   * Start a new serving epoch: the node was fenced and recovered, and its
   * clients may have given up on it meanwhile (fenced and silent), told
   * that what they had sent will never take effect later. Clients of
   * earlier epochs are never served again; they fail with NodeGoneError.
   */
  restart(): void;
}

/** Makes the hub for node `slot` (null: the handle has no client slots). */
export type HubFactory = (slot: number) => NodeHub | null;
