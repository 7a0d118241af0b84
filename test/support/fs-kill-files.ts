/** The files of test/fs-kill-rename.test.ts and its worker: distinct bytes, sizes not whole pages. */
const SIZES = { a: 3 * 4096 + 100, u: 2 * 4096 + 7, o: 4096 + 3 } as const;

export function fileBytes(name: keyof typeof SIZES): Buffer {
  const b = Buffer.alloc(SIZES[name]);
  const seed = name.charCodeAt(0);
  for (let i = 0; i < b.length; i++) b[i] = (seed + i * 7 + (i >> 12)) & 0xff;
  return b;
}

/** Pages a file of `name`'s size fills. */
export function pagesOf(name: keyof typeof SIZES): number {
  return Math.ceil(SIZES[name] / 4096);
}
