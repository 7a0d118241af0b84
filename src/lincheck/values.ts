/** Structural equality and short text for op inputs and outputs. */
import type { Model, Operation } from './types.js';

/**
 * Structural equality over primitives, arrays and plain objects: `1` and
 * `'1'` differ, NaN equals NaN, and an own property holding `undefined`
 * equals a missing one.
 */
export function structurallyEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => structurallyEqual(x, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
    if (!structurallyEqual(ra[k], rb[k])) return false;
  }
  return true;
}

/** A short, unambiguous text for a value (strings quoted, undefined spelled out). */
export function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v !== 'object' || v === null) return String(v);
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  const fields = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .map(([k, x]) => `${k}: ${show(x)}`);
  return `{ ${fields.join(', ')} }`;
}

/** One op as a line of an explanation: input, output and interval. */
export function describeOp<I, O>(model: Model<unknown, I, O>, op: Operation<I, O>): string {
  const what = model.describe ? model.describe(op.input) : show(op.input);
  const who = op.client === undefined ? '' : `client ${op.client}: `;
  return op.ret === undefined ? `${who}${what} pending since ${op.call}` : `${who}${what} -> ${show(op.output)} [${op.call}, ${op.ret}]`;
}
