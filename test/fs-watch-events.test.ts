/**
 * fs.watch events against node's on tmpfs (inotify): a watcher on a
 * directory and one on a file in it, op by op. What each op reports (its
 * events, in order) must be what node reports: writeFile over a file is two
 * changes (the O_TRUNC open, the write), a new file written is a rename and
 * a change, an empty one a rename only, an unlink's link count drop is not
 * the directory's event, a chmod is a change to both.
 */
import realFs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { attachFs, createFs, nodeFs } from '../src/fs/index.js';

const nr = nodeFs(attachFs(createFs({ capacityBytes: 1 << 20, maxReplicas: 1 }))) as unknown as typeof realFs;
const base = realFs.mkdtempSync('/dev/shm/nrfs-watch-');
afterAll(() => realFs.rmSync(base, { recursive: true, force: true }));

/** Run `op`, then collect events until none came for 80 ms (at most 2 s). */
async function eventsOf(events: string[], op: () => void): Promise<string[]> {
  const from = events.length;
  op();
  const until = Date.now() + 2_000;
  let seen = -1;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 80));
    if (events.length === seen) break;
    seen = events.length;
  }
  return events.slice(from);
}

describe('fs.watch events, op by op, as node reports them', () => {
  it('writeFile, appendFile, new and empty files, rename, unlink, mkdir, chmod', async () => {
    const run = async (fs: typeof realFs, dir: string): Promise<Record<string, string[]>> => {
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(`${dir}/f`, 'x');
      const events: string[] = [];
      const onDir = fs.watch(dir, (e, name) => events.push(`${e}:${String(name)}`));
      const onFile = fs.watch(`${dir}/f`, (e, name) => events.push(`F ${e}:${String(name)}`));
      await new Promise((r) => setTimeout(r, 50));
      const ops: Array<[string, () => void]> = [
        ['writeFile over f', () => fs.writeFileSync(`${dir}/f`, 'y')],
        ['appendFile f', () => fs.appendFileSync(`${dir}/f`, 'z')],
        ['writeFile new g', () => fs.writeFileSync(`${dir}/g`, 'new')],
        ['writeFile new empty e', () => fs.writeFileSync(`${dir}/e`, '')],
        ['writeFile f empty', () => fs.writeFileSync(`${dir}/f`, '')],
        ['writeFile empty f', () => fs.writeFileSync(`${dir}/f`, 'q')],
        ['rename g h', () => fs.renameSync(`${dir}/g`, `${dir}/h`)],
        ['unlink h', () => fs.unlinkSync(`${dir}/h`)],
        ['mkdir sub', () => fs.mkdirSync(`${dir}/sub`)],
        ['chmod f', () => fs.chmodSync(`${dir}/f`, 0o600)],
        ['rename e over f (the watched file replaced)', () => fs.renameSync(`${dir}/e`, `${dir}/f`)],
        ['writeFile f2', () => fs.writeFileSync(`${dir}/f2`, 'x')],
        ['unlink f2', () => fs.unlinkSync(`${dir}/f2`)],
      ];
      const out: Record<string, string[]> = {};
      try {
        for (const [name, op] of ops) out[name] = await eventsOf(events, op);
      } finally {
        onDir.close();
        onFile.close();
      }
      return out;
    };
    const theirs = await run(realFs, `${base}/node`);
    const ours = await run(nr, `${base}/nr`);
    expect(ours).toEqual(theirs);
    expect(theirs['writeFile new g']).toEqual(['rename:g', 'change:g']);
  });
});
