/**
 * Import and export: memfs's `fromJSON`/`toJSON` shapes, and copies of a
 * real directory tree (node:fs) into NrFS and back, so a build can be seeded
 * from disk and its output written out.
 *
 * JSON shape (as memfs): `{ '/abs/or/relative/file': 'content' | Buffer, '/empty/dir': null }`;
 * relative keys resolve against `cwd` (default: the facade's working directory).
 */
import * as disk from 'node:fs';
import { posix } from 'node:path';
import { FsError } from '../errors.js';
import { FsArgumentError } from '../paths.js';
import type { FacadeContext } from './args.js';

export type DirectoryJSON = Record<string, string | Buffer | null>;

function join(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

export function jsonCalls(c: FacadeContext) {
  const core = c.core;

  function fromJSON(json: DirectoryJSON, cwd: string = c.cwd.dir): void {
    if (json === null || typeof json !== 'object') throw new FsArgumentError('ERR_INVALID_ARG_TYPE', 'fromJSON needs an object of path -> content | null');
    for (const [key, value] of Object.entries(json)) {
      const abs = posix.resolve(cwd, key);
      if (value === null) {
        core.mkdir(abs, { recursive: true });
        continue;
      }
      if (typeof value !== 'string' && !Buffer.isBuffer(value)) {
        throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `fromJSON: the content of '${key}' must be a string, a Buffer or null`);
      }
      core.mkdir(posix.dirname(abs), { recursive: true });
      core.writeFile(abs, value);
    }
  }

  /** Files (and empty directories, as null) under `paths` (default '/'), keyed by absolute path, or relative to each path. */
  function toJSON(paths: string | string[] = '/', json: DirectoryJSON = {}, isRelative = false, asBuffer = false): DirectoryJSON {
    for (const root of Array.isArray(paths) ? paths : [paths]) {
      const top = posix.resolve(c.cwd.dir, root);
      const key = (abs: string): string => (isRelative ? posix.relative(top, abs) || '.' : abs);
      const walk = (abs: string): void => {
        const st = core.lstat(abs);
        if (st.isDirectory()) {
          const names = core.readdir(abs);
          if (names.length === 0 && abs !== '/') json[key(abs)] = null;
          for (const n of names) walk(join(abs, n));
        } else if (st.isFile()) {
          json[key(abs)] = asBuffer ? core.readFile(abs) : core.readFile(abs, 'utf8');
        }
      };
      try {
        walk(top);
      } catch (e) {
        if (!(e instanceof FsError && e.code === 'ENOENT')) throw e;
      }
    }
    return json;
  }

  /** Copy a real directory tree (node:fs) into NrFS at `dest`: directories, files (with modes) and symbolic links. */
  function importTree(src: string, dest: string): number {
    let n = 0;
    const copy = (from: string, to: string): void => {
      const st = disk.lstatSync(from);
      if (st.isDirectory()) {
        core.mkdir(to, { recursive: true });
        for (const name of disk.readdirSync(from).sort()) copy(posix.join(from, name), join(to, name));
      } else if (st.isSymbolicLink()) {
        core.symlink(disk.readlinkSync(from), to);
      } else if (st.isFile()) {
        core.writeFile(to, disk.readFileSync(from), { mode: st.mode & 0o777 });
        n++;
      }
    };
    copy(src, posix.resolve(c.cwd.dir, dest));
    return n;
  }

  /** Copy an NrFS tree at `src` out to a real directory `dest` (created). Returns the files written. */
  function exportTree(src: string, dest: string): number {
    let n = 0;
    const copy = (from: string, to: string): void => {
      const st = core.lstat(from);
      if (st.isDirectory()) {
        disk.mkdirSync(to, { recursive: true });
        for (const name of core.readdir(from)) copy(join(from, name), posix.join(to, name));
      } else if (st.isSymbolicLink()) {
        disk.symlinkSync(core.readlink(from), to);
      } else {
        disk.writeFileSync(to, core.readFile(from), { mode: st.mode & 0o777 });
        n++;
      }
    };
    copy(posix.resolve(c.cwd.dir, src), dest);
    return n;
  }

  return { fromJSON, toJSON, importTree, exportTree };
}
