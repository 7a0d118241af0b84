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

/**
 * Control words (i32 indexes into one SharedArrayBuffer of CONTROL_BYTES, each word on its own 64-byte line):
 * ROUNDS, rounds the client did; FAILED, set by the client at its first typed failure; STOP, set by the test to
 * end the client's rounds; RELEASE, set by the test to end the node's stall; PAUSED, set by the client when it
 * stops before the op it pauses at; GO, set by the test to let it go on.
 */
export const ROUNDS = 0;
export const FAILED = 16;
export const STOP = 32;
export const RELEASE = 48;
export const PAUSED = 64;
export const GO = 80;
export const CONTROL_BYTES = 384;

/** The op the client's round PAUSE_ROUND stops before: a synchronous writeFile, or the round's pipelined ops. */
export type PausePoint = 'writeFile' | 'pipelined';
export const PAUSE_ROUND = 10;
/** The client's bound on rounds (a client failing fast for good runs them all in a second or so). */
export const MAX_ROUNDS = 3000;

/** The file the client holds open across the stall (the test unlinks it meanwhile). */
export const HELD = new Uint8Array(3 * 4096 + 10).map((_, i) => (i * 3 + 1) & 0xff);

/** Pages of each round's pipelined file, and the byte of page k. */
export const PIPE_PAGES = 4;
export function pipeByte(round: number, k: number): number {
  return ((round * PIPE_PAGES + k) % 250) + 1;
}

/**
 * The contents a pipelined file may have: page k written (true), not (false), or unknown ('maybe', both counted).
 * A page not written is a hole (zeros) below the last written page, and past the end otherwise.
 */
export function pipeFiles(round: number, written: (boolean | 'maybe')[]): Uint8Array[] {
  let choices: boolean[][] = [[]];
  for (const w of written) choices = choices.flatMap((c) => (w === 'maybe' ? [[...c, false], [...c, true]] : [[...c, w]]));
  return choices.map((c) => {
    const pages = c.lastIndexOf(true) + 1;
    const out = new Uint8Array(pages * 4096);
    c.forEach((on, k) => on && k < pages && out.fill(pipeByte(round, k), k * 4096, (k + 1) * 4096));
    return out;
  });
}
