/**
 * rm where the path's lstat fails with something other than ENOENT (a file
 * in the middle, a symbolic link loop), in each form and with each
 * combination of `recursive` and `force`, against node:fs on tmpfs
 * (/dev/shm): node's sync form with both options goes straight to its
 * rimraf, which drops that lstat error and reports the unlink's; every
 * other case reports the lstat's. Outcome: the error's code, syscall and
 * path below the directory, and the tree left.
 */
import realFs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { besideTmpfs, type Fs } from './support/fs-beside-tmpfs.js';

const { nr, base } = besideTmpfs('nrfs-rm-', 1 << 20);

const PATHS = ['f/x', 'f/x/', 'loop/x', 'loop', 'nope/x', 'dangling/x', 'd/f/x'];
const OPTIONS = [{}, { force: true }, { recursive: true }, { recursive: true, force: true }];
const FORMS = ['sync', 'callback', 'promises'] as const;
let n = 0;
const outcomes = async (fs: Fs): Promise<string[]> => {
  const out: string[] = [];
  for (const form of FORMS) {
    for (const o of OPTIONS) {
      for (const p of PATHS) {
        const d = `${base}/${n++}`;
        fs.mkdirSync(`${d}/d`, { recursive: true });
        fs.writeFileSync(`${d}/f`, 'x');
        fs.writeFileSync(`${d}/d/f`, 'y');
        fs.symlinkSync('loop', `${d}/loop`);
        fs.symlinkSync('nope', `${d}/dangling`);
        const call = `${form} rm ${p} ${JSON.stringify(o)}`;
        try {
          if (form === 'sync') fs.rmSync(`${d}/${p}`, o);
          else if (form === 'promises') await fs.promises.rm(`${d}/${p}`, o);
          else await new Promise<void>((resolve, reject) => fs.rm(`${d}/${p}`, o, (e) => (e ? reject(e) : resolve())));
          out.push(`${call}: ok ${fs.readdirSync(d).join(',')}`);
        } catch (e) {
          const err = e as NodeJS.ErrnoException;
          out.push(`${call}: ${err.code} ${err.syscall} ${err.path?.replace(d, '<d>')} ${fs.readdirSync(d).join(',')}`);
        }
      }
    }
  }
  return out;
};

describe('rm when the lstat fails, as node:fs', () => {
  it('in every form, with every combination of recursive and force', async () => {
    const theirs = await outcomes(realFs);
    expect(await outcomes(nr)).toEqual(theirs);
  });
});
