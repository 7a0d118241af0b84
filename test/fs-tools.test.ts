/**
 * Real tools on NrFS, nothing mocked: enhanced-resolve resolving modules
 * through the callback API (symlinked packages, `exports`, directories),
 * fast-glob walking a tree through its `fs` option, webpack building two
 * bundles from NrFS into NrFS on two worker threads while a third reads and
 * runs them; and replicated watchers: fs.watch and watchFile in one worker
 * seeing the changes another worker makes.
 */
import { Worker } from 'node:worker_threads';
import enhancedResolve from 'enhanced-resolve';
import fg from 'fast-glob';
import { describe, expect, it } from 'vitest';
import { attachFs, createFs, nodeFs, type NodeFs, type NrFsHandle } from '../src/fs/index.js';
import { workerPath } from './support/spawn.js';
import type { ToolWorkerInput, WriterStep } from './workers/fs-tool-worker.js';

const handle = (): NrFsHandle => createFs({ capacityBytes: 64 << 20, maxReplicas: 6, replicas: 1 });

function project(fs: NodeFs): void {
  fs.fromJSON({
    '/proj/package.json': JSON.stringify({ name: 'proj' }),
    '/proj/src/index.js': "const { greet } = require('greeter');\nconst util = require('./util');\nmodule.exports.answer = () => greet(util.name);\n",
    '/proj/src/util/index.js': "module.exports.name = 'nrfs';\n",
    '/proj/src/other.js': "const { greet } = require('@scope/pkg/feature');\nmodule.exports.answer = () => greet('other');\n",
    '/store/greeter@1.0.0/package.json': JSON.stringify({ name: 'greeter', main: 'lib/main.js' }),
    '/store/greeter@1.0.0/lib/main.js': 'module.exports.greet = (n) => `hello ${n}`;\n',
    '/proj/node_modules/@scope/pkg/package.json': JSON.stringify({ name: '@scope/pkg', exports: { './feature': './dist/feature.js' } }),
    '/proj/node_modules/@scope/pkg/dist/feature.js': 'module.exports.greet = (n) => `feature ${n}`;\n',
  });
  // A pnpm-style link: node_modules/greeter -> the store.
  fs.symlinkSync('../../store/greeter@1.0.0', '/proj/node_modules/greeter');
}

/** One message of `kind` from `w`, or a failure after `ms`. */
function next<T>(w: Worker, kind: string, ms = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${kind}' message within ${ms} ms`)), ms);
    const on = (m: { kind: string }) => {
      if (m.kind !== kind) return;
      clearTimeout(timer);
      w.off('message', on);
      resolve(m as T);
    };
    w.on('message', on);
    w.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

const spawn = (input: ToolWorkerInput): Worker => new Worker(workerPath('fs-tool-worker'), { workerData: input });

describe('real tools on NrFS', () => {
  it('enhanced-resolve resolves through the callback API: symlinked packages (realpath), exports, directories, misses', async () => {
    const fs = nodeFs(attachFs(handle()));
    project(fs);
    const resolver = enhancedResolve.create({ fileSystem: new enhancedResolve.CachedInputFileSystem(fs as never, 4000), extensions: ['.js', '.json'], conditionNames: ['node', 'require'] });
    const resolve = (from: string, req: string): Promise<string | false | undefined> =>
      new Promise((res, rej) => resolver(from, req, (err: Error | null, result?: string | false) => (err ? rej(err) : res(result))));
    expect(await resolve('/proj/src', 'greeter')).toBe('/store/greeter@1.0.0/lib/main.js');
    expect(await resolve('/proj/src', './util')).toBe('/proj/src/util/index.js');
    expect(await resolve('/proj/src', '@scope/pkg/feature')).toBe('/proj/node_modules/@scope/pkg/dist/feature.js');
    await expect(resolve('/proj/src', '@scope/pkg/dist/feature.js')).rejects.toThrow(/not exported|Package path/);
    await expect(resolve('/proj/src', 'missing-pkg')).rejects.toThrow(/Can't resolve 'missing-pkg'/);
    const sync = enhancedResolve.create.sync({ fileSystem: fs as never, extensions: ['.js'] });
    expect(sync('/proj/src', './other')).toBe('/proj/src/other.js');
  });

  it('fast-glob walks NrFS through its fs option (sync and async), following the symlinked package', async () => {
    const fs = nodeFs(attachFs(handle()));
    project(fs);
    const opts = { cwd: '/proj', fs: fs as never, dot: false };
    expect(fg.sync('src/**/*.js', opts).sort()).toEqual(['src/index.js', 'src/other.js', 'src/util/index.js']);
    expect((await fg('node_modules/**/package.json', opts)).sort()).toEqual(['node_modules/@scope/pkg/package.json', 'node_modules/greeter/package.json']);
    expect((await fg('**', { ...opts, onlyDirectories: true, deep: 1 })).sort()).toEqual(['node_modules', 'src']);
    const withTypes = await fg('src/*', { ...opts, objectMode: true, onlyFiles: false });
    expect(withTypes.map((e) => `${e.name}:${e.dirent.isDirectory()}`).sort()).toEqual(['index.js:false', 'other.js:false', 'util:true']);
  });

  it('webpack builds two bundles from NrFS into NrFS on two worker threads; a third worker reads and runs them', async () => {
    const h = handle();
    const fs = nodeFs(attachFs(h));
    project(fs);
    const builders = [
      spawn({ mode: 'webpack', handle: h, entry: './src/index.js', outDir: '/dist/a' }),
      spawn({ mode: 'webpack', handle: h, entry: './src/other.js', outDir: '/dist/b' }),
    ];
    try {
      const built = await Promise.all(builders.map((w) => next<{ errors: string[]; modules: number }>(w, 'built', 60_000)));
      for (const b of built) expect(b.errors).toEqual([]);
      expect(built.map((b) => b.modules)).toEqual([3, 2]);
    } finally {
      await Promise.all(builders.map((w) => w.terminate()));
    }
    const runner = spawn({ mode: 'run-bundles', handle: h, bundles: ['/dist/a/bundle.js', '/dist/b/bundle.js'] });
    try {
      const ran = await next<{ results: { bundle: string; answer: string; bytes: number }[] }>(runner, 'ran');
      expect(ran.results.map((r) => r.answer)).toEqual(['hello nrfs', 'feature other']);
      expect(ran.results.every((r) => r.bytes > 100)).toBe(true);
    } finally {
      await runner.terminate();
    }
    expect(fs.readdirSync('/dist', { recursive: true }).sort()).toEqual(['a', 'a/bundle.js', 'b', 'b/bundle.js']);
  });
});

describe('replicated watchers', () => {
  it("fs.watch and watchFile in one worker see another worker's changes, with node's event names", async () => {
    const h = handle();
    const fs = nodeFs(attachFs(h));
    fs.mkdirSync('/w/d', { recursive: true });
    fs.writeFileSync('/w/d/old', 'x');
    const watcher = spawn({ mode: 'watch', handle: h, dir: '/w/d', file: '/w/d/old', interval: 25 });
    const writer = spawn({ mode: 'write', handle: h });
    const events: { src: string; event?: string; name?: string; curr?: { ino: number; size: number }; prev?: { size: number } }[] = [];
    watcher.on('message', (m: { kind: string }) => {
      if (m.kind === 'event') events.push(m as never);
    });
    /** Wait until the watcher has reported `n` events in all (each step's events arrive before the next step). */
    const until = async (pred: () => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`watcher did not report ${what}; got ${JSON.stringify(events)}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    try {
      await Promise.all([next(watcher, 'ready'), next(writer, 'ready')]);
      const step = async (s: WriterStep): Promise<void> => {
        const done = next(writer, 'done');
        writer.postMessage({ kind: 'step', step: s });
        await done;
      };
      const fromWatch = (src: string) => events.filter((e) => e.src === src).map((e) => `${e.event}:${e.name}`);
      const polls = () => events.filter((e) => e.src === 'poll');

      await step({ op: 'writeFile', path: '/w/d/new', data: 'n' });
      await until(() => fromWatch('dir').length >= 1, 'the create');
      await step({ op: 'appendFile', path: '/w/d/old', data: 'yz' });
      await until(() => fromWatch('file').length >= 1 && polls().length >= 1, 'the append');
      await step({ op: 'rename', from: '/w/d/new', to: '/w/d/renamed' });
      await until(() => fromWatch('dir').length >= 5, 'the rename');
      await step({ op: 'unlink', path: '/w/d/old' });
      await until(() => fromWatch('file').length >= 4 && polls().length >= 2, 'the unlink');

      // node's on tmpfs, the same steps: the new file's write is a change too, the unlink is the file's link
      // count (change) and its end (IN_DELETE_SELF, IN_IGNORED: two renames), not the directory's change.
      expect(fromWatch('dir')).toEqual(['rename:new', 'change:new', 'change:old', 'rename:new', 'rename:renamed', 'rename:old']);
      expect(fromWatch('file')).toEqual(['change:old', 'change:old', 'rename:old', 'rename:old']);
      // watchFile: (current, previous) stats, the deleted file reported as zeroed stats, as node's.
      const [grew, gone] = polls();
      expect([grew!.prev!.size, grew!.curr!.size]).toEqual([1, 3]);
      expect(gone!.curr).toEqual({ ino: 0, size: 0 });
      const stopped = next(watcher, 'stopped');
      watcher.postMessage({ kind: 'stop' });
      await stopped;
      // The watcher's replica applied everything: no thread keeps the doorbell busy once watchers close.
      expect(Atomics.load(new Int32Array(h.changes), 1)).toBe(0);
    } finally {
      await Promise.all([watcher.terminate(), writer.terminate()]);
    }
  });
});
