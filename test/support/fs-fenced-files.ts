/** The bytes test/fs-client-fenced.test.ts's client writes: sizes not whole pages, distinct per round. */
export function clientBytes(round: number): Uint8Array {
  const b = new Uint8Array(1000 + ((round * 1237) % 9000));
  for (let i = 0; i < b.length; i++) b[i] = (round * 31 + i * 13 + (i >> 12)) & 0xff;
  return b;
}

/** A patch written over every file at PATCH_AT, across a page boundary. */
export const PATCH = new Uint8Array(5000).fill(0x5a);
export const PATCH_AT = 500;

/** `base` with `patch` written at `at` (grown with zeros if needed), as node:fs's pwrite would leave it. */
export function overlay(base: Uint8Array, patch: Uint8Array, at: number): Uint8Array {
  const out = new Uint8Array(Math.max(base.length, at + patch.length));
  out.set(base);
  out.set(patch, at);
  return out;
}

/** Control words of the client worker: rounds done (it writes), stop (the test sets). Each on its own 64-byte line. */
export const ROUNDS = 0;
export const STOP = 16;
/** The client's bound on rounds (a client failing fast for good runs them all in a second or so). */
export const MAX_ROUNDS = 3000;
