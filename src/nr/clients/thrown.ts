/**
 * How an error thrown by an op on the node travels to its client: its
 * class name, `code` and message always arrive (the message truncated to
 * fit the slot), and the error itself when it is cloneable and fits.
 */
import { serialize } from 'node:v8';

interface ThrownSummary {
  nrThrown: 1;
  name: string;
  code: unknown;
  message: string;
  error?: unknown;
}

/** Encode `error` in at most `maxBytes`. */
export function encodeThrown(error: unknown, maxBytes: number): Uint8Array {
  const e = error instanceof Error ? error : new Error(String(error));
  const code = (e as { code?: unknown }).code;
  const summary: ThrownSummary = { nrThrown: 1, name: e.name, code: typeof code === 'string' || typeof code === 'number' ? code : undefined, message: e.message };
  try {
    const full = serialize({ ...summary, error });
    if (full.length <= maxBytes) return full;
  } catch {
    // Not cloneable: the summary carries what matters.
  }
  let message = e.message;
  for (;;) {
    const bytes = serialize({ ...summary, message });
    if (bytes.length <= maxBytes || message.length === 0) return bytes.length <= maxBytes ? bytes : serialize({ nrThrown: 1, name: 'Error', code: undefined, message: '' });
    message = message.slice(0, Math.max(0, Math.floor(message.length / 2) - 1)) + '…';
    if (message === '…') message = '';
  }
}

/** The error a client rethrows, from the deserialized report. */
export function decodeThrown(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || (v as Partial<ThrownSummary>).nrThrown !== 1) return v;
  const s = v as ThrownSummary;
  const e = s.error instanceof Error ? s.error : new Error(s.message);
  // Structured clone keeps only standard error names and no own properties: restore them.
  if (e.name !== s.name) Object.defineProperty(e, 'name', { value: s.name, configurable: true, writable: true });
  if (s.code !== undefined && (e as { code?: unknown }).code === undefined) Object.defineProperty(e, 'code', { value: s.code, configurable: true, writable: true, enumerable: true });
  return e;
}
