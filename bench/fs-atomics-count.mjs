/**
 * Atomics calls per NrFS op, by call site: every Atomics function is
 * wrapped with a counter keyed by its caller (from a stack trace), then
 * 3200 ops run after 2000 of warm-up (MODE w: 4 KiB pwrites on one
 * replica; wa: the same with a second replica in this thread applying
 * each 256; c: create+close in one directory). Prints the sites called at
 * least once per 100 ops, with calls per op, and the total per op. Not a
 * timing tool (the wrapper costs far more than the call): it says which
 * shared words an op touches and how often.
 *
 *   npx tsc -p tsconfig.json && node bench/fs-atomics-count.mjs w
 *   FS=/other/checkout/dist/src/fs/index.js node bench/fs-atomics-count.mjs w
 */
const fsPath = process.env.FS ? new URL(`file://${process.env.FS}`).href : new URL('../dist/src/fs/index.js', import.meta.url).href;
const mode = process.argv[2] ?? 'w';
if (!['w', 'wa', 'c'].includes(mode)) throw new Error(`unknown mode ${mode} (w, wa, c)`);
const counts = new Map();
let on = false;
for (const name of ['load', 'store', 'compareExchange', 'add', 'sub', 'exchange', 'notify', 'wait', 'or', 'and']) {
  const orig = Atomics[name];
  Atomics[name] = function (...a) {
    if (on) {
      const st = new Error().stack.split('\n');
      const site = st[2].trim().replace(/\(file:\/\/.*\/dist\//, '(').replace(/^at /, '');
      const caller = (st[3] ?? '').trim().replace(/\(file:\/\/.*\/dist\//, '(').replace(/^at /, '');
      const k = `${name}  ${site}  <- ${caller}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    return orig.apply(Atomics, a);
  };
}
const { createFs, attachFs } = await import(fsPath);
const h = createFs({ replicas: mode === 'wa' ? 2 : 1, capacityBytes: 64 << 20 });
const fs = attachFs(h);
const other = mode === 'wa' ? attachFs(h) : null;
const fd = fs.open('/f', 'w+');
const buf = Buffer.alloc(4096, 1);
fs.mkdir('/d');
const op = mode === 'c' ? (i) => fs.close(fs.open(`/d/${i}`, 'wx')) : (i) => { fs.pwrite(fd, buf, 0, 4096, (i & 15) * 4096); if (other && (i & 255) === 255) other.replica.sync(); };
for (let i = 0; i < 2000; i++) op(i);
const N = 3200;
on = true;
for (let i = 2000; i < 2000 + N; i++) op(i);
on = false;
let tot = 0;
const rows = [...counts].sort((a, b) => b[1] - a[1]);
for (const [k, v] of rows) { tot += v; if (v / N >= 0.01) console.log((v / N).toFixed(3), k); }
console.log('total per op', (tot / N).toFixed(2));
