/**
 * Creating a log's shared memory: options, their checks and defaults, and
 * the header every later attach validates (shared-log.ts).
 */
import { ConfigError } from '../errors.js';
import { DEFAULTS, LIMITS } from '../defaults.js';
import { createSharedMemory, type SharedMemory } from '../shared-memory.js';
import { geometry, H_CELLS, H_DEAD_MS, H_FENCE_MS, H_FINGERPRINT, H_INSTANCE, H_LAYOUT, H_MAGIC, H_MAX_ENTRY_CELLS, H_MAX_REPLICAS, LAYOUT, MAGIC, S_STATE, SLOT_WORDS, SLOTS_AT } from './layout.js';
import { SlotState } from './slot-state.js';

export interface LogOptions {
  /** Data ring size in bytes: a power of two from 4 KiB to 1 GiB. Default 2 MiB. */
  logBytes?: number;
  /**
   * Replica slots held from creation for the first workers, which then
   * replay the log from its start (no state transfer). Default 1.
   */
  replicas?: number;
  /** All replica slots, including those for replicas that join later. Default max(replicas, 8), at most 64. */
  maxReplicas?: number;
  /**
   * How long a writer that needs log space waits for a lagging replica
   * (nudging it) before fencing it. Default 1000 ms.
   */
  fenceAfterMs?: number;
  /**
   * How long a slot's owner thread may show no sign of life before others
   * treat it as dead (transfer lock broken; slot reclaimable by a joiner that
   * finds no free slot). Default 1000 ms.
   */
  deadAfterMs?: number;
}
export const LOG_OPTION_KEYS = ['logBytes', 'replicas', 'maxReplicas', 'fenceAfterMs', 'deadAfterMs'] as const;

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function checkMs(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1 || v > 2 ** 30) throw new ConfigError(`${name} must be a positive integer, got ${String(v)}`);
}

/** Allocate and initialise a log's shared memory. */
export function createLogMemory(fingerprint: number, options: LogOptions = {}): SharedMemory {
  const logBytes = options.logBytes ?? DEFAULTS.logBytes;
  const replicas = options.replicas ?? DEFAULTS.replicas;
  // Checked before maxReplicas' default is computed from it (Math.max of a symbol or a bigint throws a TypeError).
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > LIMITS.maxReplicas) {
    throw new ConfigError(`replicas must be an integer from 1 to ${LIMITS.maxReplicas}, got ${String(replicas)}`);
  }
  const maxReplicas = options.maxReplicas ?? Math.max(replicas, DEFAULTS.maxReplicas);
  const fenceAfterMs = options.fenceAfterMs ?? DEFAULTS.fenceAfterMs;
  const deadAfterMs = options.deadAfterMs ?? DEFAULTS.deadAfterMs;
  checkMs('fenceAfterMs', fenceAfterMs);
  checkMs('deadAfterMs', deadAfterMs);
  if (!isPowerOfTwo(logBytes) || logBytes < LIMITS.minLogBytes || logBytes > LIMITS.maxLogBytes) {
    throw new ConfigError(`logBytes must be a power of two from ${LIMITS.minLogBytes} to ${LIMITS.maxLogBytes}, got ${String(logBytes)}`);
  }
  if (!Number.isInteger(maxReplicas) || maxReplicas < replicas || maxReplicas > LIMITS.maxReplicas) {
    throw new ConfigError(`maxReplicas must be an integer from replicas (${String(replicas)}) to ${LIMITS.maxReplicas}, got ${String(maxReplicas)}`);
  }
  const g = geometry(logBytes, maxReplicas);
  const memory = createSharedMemory(g.totalBytes);
  const w = new Int32Array(memory.buffer);
  w[H_MAGIC] = MAGIC;
  w[H_LAYOUT] = LAYOUT;
  w[H_FINGERPRINT] = fingerprint;
  w[H_CELLS] = g.cells;
  w[H_MAX_REPLICAS] = maxReplicas;
  w[H_FENCE_MS] = fenceAfterMs;
  w[H_DEAD_MS] = deadAfterMs;
  w[H_MAX_ENTRY_CELLS] = g.maxEntryCells;
  w[H_INSTANCE] = (Math.random() * 0x7fffffff) | 0;
  for (let i = 0; i < g.cells; i++) w[g.sealsAt + i] = ~i;
  for (let r = 0; r < replicas; r++) w[SLOTS_AT + r * SLOT_WORDS + S_STATE] = SlotState.Reserved;
  return memory;
}

/** The instance id of the log in `memory` (stable across structured clones of a handle). */
export function logInstance(memory: SharedMemory): number {
  return new Int32Array(memory.buffer, 0, 16)[H_INSTANCE]!;
}

