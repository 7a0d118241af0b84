/** Messages between the trust tests and their worker (test/workers/trust-node.ts). */

export type TrustCommand =
  | { cmd: 'attach'; options?: Record<string, unknown> }
  | { cmd: 'slowness'; slowness: { slowApplies?: boolean; snapshotMs?: number; snapshotsToDelay?: number } }
  | { cmd: 'write' | 'writeAsync' | 'read' | 'cwrite' | 'cwriteAsync' | 'cread'; op: string; args: unknown[] }
  | { cmd: 'puts' | 'putEach'; entries: [string, unknown][] }
  | { cmd: 'sync' | 'digest' | 'status' | 'stats' | 'detach' }
  | { cmd: 'values'; keys: string[] }
  | { cmd: 'block'; ms: number }
  | { cmd: 'connect'; options?: Record<string, unknown> };

/** An error as it crossed the thread boundary: what the tests assert on. */
export interface ErrorInfo {
  name: string;
  ctor: string;
  code: unknown;
  committed: unknown;
  message: string;
}

export interface TrustReply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: ErrorInfo;
}

/** One op's outcome inside a `putEach` answer. */
export interface OpOutcome {
  ok: boolean;
  value?: unknown;
  error?: ErrorInfo;
}

export function describeError(e: unknown): ErrorInfo {
  if (e instanceof Error) {
    const x = e as Error & { code?: unknown; committed?: unknown };
    return { name: x.name, ctor: x.constructor.name, code: x.code, committed: x.committed, message: x.message };
  }
  return { name: 'non-error', ctor: typeof e, code: undefined, committed: undefined, message: String(e) };
}
