/** The messages between a site's replicas and its bridge (one MessagePort per replica). */
import type { WireError } from './errors.js';

/** Replica → bridge: publish this batch / learn the stream's last sequence within `ms` (what is left of the oldest read's bound). */
export type ToBridge =
  | { readonly t: 'w'; readonly b: number; readonly id: string; readonly msg: Uint8Array }
  | { readonly t: 'i'; readonly n: number; readonly ms: number };

/**
 * Bridge → replica: the batch is stored at `seq` and appended to the local
 * log / the stream's last sequence was `seq` and the local log holds it; or why not.
 */
export type FromBridge =
  | { readonly t: 'w'; readonly b: number; readonly seq: number }
  | { readonly t: 'w'; readonly b: number; readonly err: WireError }
  | { readonly t: 'i'; readonly n: number; readonly seq: number }
  | { readonly t: 'i'; readonly n: number; readonly err: WireError };
