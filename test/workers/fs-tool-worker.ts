/**
 * Worker for the real-tool and watcher tests: attaches its own NrFS replica
 * and, by `mode`, watches a directory and a file (fs.watch and watchFile,
 * posting every event), applies the writer's steps when told, builds a
 * bundle with webpack (input and output file systems both NrFS), or loads
 * the bundles others built and runs them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import vm from 'node:vm';
import webpack from 'webpack';
import { attachFs, nodeFs, type NrFsHandle } from '../../src/fs/index.js';

export type ToolWorkerInput =
  | { mode: 'watch'; handle: NrFsHandle; dir: string; file: string; interval: number }
  | { mode: 'write'; handle: NrFsHandle }
  | { mode: 'webpack'; handle: NrFsHandle; entry: string; outDir: string }
  | { mode: 'run-bundles'; handle: NrFsHandle; bundles: string[] };

export type WriterStep = { op: 'writeFile' | 'appendFile'; path: string; data: string } | { op: 'rename'; from: string; to: string } | { op: 'unlink'; path: string };

const input = workerData as ToolWorkerInput;
const port = parentPort!;
const fs = nodeFs(attachFs(input.handle));

if (input.mode === 'watch') {
  const dirWatcher = fs.watch(input.dir, (event, name) => port.postMessage({ kind: 'event', src: 'dir', event, name }));
  const fileWatcher = fs.watch(input.file, (event, name) => port.postMessage({ kind: 'event', src: 'file', event, name }));
  fs.watchFile(input.file, { interval: input.interval }, (curr, prev) =>
    port.postMessage({ kind: 'event', src: 'poll', curr: { ino: curr.ino, size: curr.size }, prev: { ino: prev.ino, size: prev.size } }),
  );
  port.on('message', (m: { kind: string }) => {
    if (m.kind !== 'stop') return;
    dirWatcher.close();
    fileWatcher.close();
    fs.unwatchFile(input.file);
    port.postMessage({ kind: 'stopped' });
    port.close();
  });
  port.postMessage({ kind: 'ready' });
} else if (input.mode === 'write') {
  port.on('message', (m: { kind: string; step?: WriterStep }) => {
    if (m.kind === 'stop') {
      port.close();
      return;
    }
    const s = m.step!;
    if (s.op === 'writeFile') fs.writeFileSync(s.path, s.data);
    else if (s.op === 'appendFile') fs.appendFileSync(s.path, s.data);
    else if (s.op === 'rename') fs.renameSync(s.from, s.to);
    else fs.unlinkSync(s.path);
    port.postMessage({ kind: 'done' });
  });
  port.postMessage({ kind: 'ready' });
} else if (input.mode === 'webpack') {
  const compiler = webpack({
    mode: 'production',
    context: '/proj',
    entry: input.entry,
    target: 'node',
    output: { path: input.outDir, filename: 'bundle.js', library: { type: 'commonjs2' } },
    optimization: { minimize: false },
    cache: false,
    infrastructureLogging: { level: 'none' },
    stats: 'none',
  });
  // Both sides on NrFS: the sources come from this thread's replica, the bundle goes through the log.
  compiler.inputFileSystem = fs as unknown as typeof compiler.inputFileSystem;
  compiler.outputFileSystem = fs as unknown as typeof compiler.outputFileSystem;
  compiler.run((err, stats) => {
    const errors = err ? [String(err)] : (stats?.toJson({ all: false, errors: true }).errors ?? []).map((e) => e.message);
    compiler.close(() => {
      port.postMessage({ kind: 'built', errors, modules: stats?.toJson({ all: false, modules: true }).modules?.length ?? 0 });
    });
  });
} else {
  const results = input.bundles.map((b) => {
    const code = fs.readFileSync(b, 'utf8');
    const mod = { exports: {} as { answer?: () => string } };
    vm.runInNewContext(code, { module: mod, exports: mod.exports, require: () => ({}) });
    return { bundle: b, bytes: code.length, answer: mod.exports.answer?.() };
  });
  port.postMessage({ kind: 'ran', results });
}
