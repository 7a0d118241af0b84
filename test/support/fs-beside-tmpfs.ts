/**
 * An NrFS facade beside a real tmpfs directory, for tests that run the same
 * calls on both: the directory (/dev/shm/<prefix>XXXXXX) exists on both, the
 * NrFS one with the process's umask; both are dropped after the file's tests.
 */
import realFs from 'node:fs';
import { afterAll } from 'vitest';
import { attachFs, createFs, nodeFs } from '../../src/fs/index.js';

export type Fs = typeof realFs;

export function besideTmpfs(prefix: string, capacityBytes = 4 << 20): { nr: Fs; base: string } {
  const handle = attachFs(createFs({ capacityBytes, maxReplicas: 1, umask: process.umask() }));
  const nr = nodeFs(handle) as unknown as Fs;
  const base = realFs.mkdtempSync(`/dev/shm/${prefix}`);
  nr.mkdirSync(base, { recursive: true });
  afterAll(() => {
    handle.detach();
    realFs.rmSync(base, { recursive: true, force: true });
  });
  return { nr, base };
}
