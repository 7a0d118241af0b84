/**
 * The bytes of one published batch: every write op one replica combined in
 * one flush, as one JetStream message. The stream's sequence of the message
 * is its global position; every site applies its ops in that order.
 *
 * | offset | bytes | field |
 * |---|---|---|
 * | 0 | 4 | magic `NRC1` (0x3143524e, little-endian u32) |
 * | 4 | 4 | the user structure's fingerprint |
 * | 8 | 4 | site id (random per site process) |
 * | 12 | 4 | origin: the issuing replica's token (random per replica) |
 * | 16 | 4 | batch number (per origin, from 1) |
 * | 20 | 2 | op count, at least 1 |
 * | 22 | 2 | zero |
 * | 24 | … | per op: u8 op id, u32 length, that many bytes (the structure's codec) |
 *
 * A read barrier is a message of 8 bytes: magic `NRCB` (0x4243524e) and
 * the site id. It carries no op; its sequence is a read index (see bridge.ts).
 *
 * A message is data from the network: `parseEnvelope` checks every field
 * and bound before anything is applied, and a message that fails is
 * skipped by every replica alike (the check depends on the bytes only).
 */
import { OpReader, OpWriter } from '../nr/index.js';
import { CLUSTER_LIMITS } from './defaults.js';

export const ENVELOPE_MAGIC = 0x3143524e;
export const BARRIER_MAGIC = 0x4243524e;
export const BARRIER_BYTES = 8;

export function encodeBarrier(site: number): Uint8Array {
  const b = new Uint8Array(BARRIER_BYTES);
  const v = new DataView(b.buffer);
  v.setUint32(0, BARRIER_MAGIC, true);
  v.setUint32(4, site >>> 0, true);
  return b;
}

export function isBarrier(bytes: Uint8Array): boolean {
  return bytes.length === BARRIER_BYTES && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === BARRIER_MAGIC;
}
export const HEADER_BYTES = 24;

/** One op as the encoder gets it: the write op's id (its index in writeNames) and its arguments. */
export interface EnvelopeOp {
  readonly opId: number;
  readonly args: readonly unknown[];
}

export interface EnvelopeHeader {
  readonly site: number;
  readonly origin: number;
  readonly batch: number;
  readonly count: number;
}

type Codec = { encode(w: OpWriter, ...args: unknown[]): void };

/** Encode a batch; a codec that throws propagates (nothing is published). */
export function encodeEnvelope(
  w: OpWriter,
  fingerprint: number,
  head: Omit<EnvelopeHeader, 'count'>,
  ops: readonly EnvelopeOp[],
  codecs: readonly Codec[],
): Uint8Array {
  w.pos = 0;
  w.u32(ENVELOPE_MAGIC);
  w.u32(fingerprint >>> 0);
  w.u32(head.site >>> 0);
  w.u32(head.origin >>> 0);
  w.u32(head.batch >>> 0);
  w.u32(ops.length); // u16 count, u16 zero
  for (const op of ops) {
    w.u8(op.opId);
    const lenAt = w.pos;
    w.u32(0);
    codecs[op.opId]!.encode(w, ...op.args);
    w.view.setUint32(lenAt, w.pos - lenAt - 4, true);
  }
  return w.bytes.slice(0, w.pos);
}

/**
 * Validate a message and return its header, or null if it is not a batch of
 * this structure: wrong size, magic, fingerprint, count, an op id out of
 * range, or an op that runs past the end.
 */
export function parseEnvelope(bytes: Uint8Array, fingerprint: number, writeOps: number): EnvelopeHeader | null {
  if (bytes.length < HEADER_BYTES || bytes.length > CLUSTER_LIMITS.maxBatchBytes) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== ENVELOPE_MAGIC || v.getUint32(4, true) !== fingerprint >>> 0) return null;
  const count = v.getUint16(20, true);
  if (count === 0 || v.getUint16(22, true) !== 0) return null;
  let pos = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (pos + 5 > bytes.length || bytes[pos]! >= writeOps) return null;
    const len = v.getUint32(pos + 1, true);
    pos += 5 + len;
    if (pos > bytes.length) return null;
  }
  if (pos !== bytes.length) return null;
  return { site: v.getUint32(8, true), origin: v.getUint32(12, true), batch: v.getUint32(16, true), count };
}

/**
 * Walk the ops of a message `parseEnvelope` accepted: `visit(opId, reader)`
 * with the reader bounded to that op's bytes.
 */
export function forEachOp(bytes: Uint8Array, count: number, visit: (opId: number, r: OpReader) => void): void {
  const r = new OpReader(bytes);
  let pos = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const opId = bytes[pos]!;
    const len = r.view.getUint32(pos + 1, true);
    r.pos = pos + 5;
    r.end = pos + 5 + len;
    visit(opId, r);
    pos += 5 + len;
  }
}

/** The JetStream message id of a batch: a retry of it is stored once within the duplicate window. */
export function messageId(head: Omit<EnvelopeHeader, 'count'>): string {
  return `${head.site.toString(16)}.${head.origin.toString(16)}.${head.batch}`;
}
