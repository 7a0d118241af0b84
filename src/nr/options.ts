/**
 * Option checking shared by every public entry point: unknown keys are
 * errors, not ignored.
 */
import { ConfigError } from './errors.js';

/** Throw ConfigError naming the first key of `options` that `known` lacks. */
export function checkKnownOptions(where: string, options: object | undefined, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') throw new ConfigError(`${where}: options must be an object`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new ConfigError(`${where}: unknown option '${key}' (known: ${known.join(', ')})`);
    }
    // No option takes null: taken for "the default" it would hide a caller's bug (a lookup that found nothing).
    if ((options as Record<string, unknown>)[key] === null) throw new ConfigError(`${where}: option '${key}' is null (leave it out, or undefined, for the default)`);
  }
}

/** A duration option: a positive number of ms (Infinity allowed: the caller's explicit "no bound"). */
export function checkPositiveMs(where: string, name: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !(v > 0)) throw new ConfigError(`${where}: ${name} must be a positive number of ms, got ${String(v)}`);
}
