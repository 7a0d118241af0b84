/**
 * The cost of one NrFS op, for instruction counts: one replica, a file
 * of 16 pages, N ops in a loop after setup (MODE w: 4 KiB pwrites, r:
 * 4 KiB preads, o: open+close of an existing file, c: create+close of a
 * new file, cu: create+close+unlink, copy: the copy limit's bare 4 KiB
 * copy, for the read path's overhead; wa: 4 KiB pwrites with a second replica in
 * this thread applying each batch of 256 of them: wa minus w is about the
 * cost of one remote apply; ca: create+close the same way, ca minus c
 * the remote apply of a create). Run under callgrind at two N and
 * divide the difference:
 *
 *   npx tsc -p tsconfig.json
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null --smc-check=all-non-file node bench/fs-write-cost.mjs w 20000
 *   valgrind ... node bench/fs-write-cost.mjs w 100000
 *   FS=/other/checkout/dist/src/fs/index.js valgrind ...   # another build
 */
const fsPath = process.env.FS ? new URL(`file://${process.env.FS}`).href : new URL('../dist/src/fs/index.js', import.meta.url).href;
const { createFs, attachFs } = await import(fsPath);
const [mode, nArg] = process.argv.slice(2);
const N = +nArg;
const h = createFs({ replicas: mode === 'wa' || mode === 'ca' ? 2 : 1, capacityBytes: 64 << 20 });
const fs = attachFs(h);
const other = mode === 'wa' || mode === 'ca' ? attachFs(h) : null;
const fd = fs.open('/f', 'w+');
const buf = Buffer.alloc(4096, 1);
for (let i = 0; i < 16; i++) fs.pwrite(fd, buf, 0, 4096, i * 4096);
const rd = Buffer.alloc(4096);
fs.mkdir('/d');
if (mode === 'w') for (let i = 0; i < N; i++) fs.pwrite(fd, buf, 0, 4096, (i & 15) * 4096);
else if (mode === 'wa') {
  for (let i = 0; i < N; i++) {
    fs.pwrite(fd, buf, 0, 4096, (i & 15) * 4096);
    if ((i & 255) === 255) other.replica.sync();
  }
}
else if (mode === 'r') for (let i = 0; i < N; i++) fs.pread(fd, rd, 0, 4096, (i & 15) * 4096);
else if (mode === 'o') for (let i = 0; i < N; i++) fs.close(fs.open('/f', 'r'));
else if (mode === 'c') for (let i = 0; i < N; i++) fs.close(fs.open(`/d/${i}`, 'wx'));
else if (mode === 'ca') {
  for (let i = 0; i < N; i++) {
    fs.close(fs.open(`/d/${i}`, 'wx'));
    if ((i & 255) === 255) other.replica.sync();
  }
}
else if (mode === 'cu') for (let i = 0; i < N; i++) {
  fs.close(fs.open(`/d/${i}`, 'wx'));
  fs.unlink(`/d/${i}`);
}
else if (mode === 'copy') {
  // The copy limit's op (bench/fs.ts): copy a 4 KiB page out of JS-heap pages, nothing else.
  const pages = Array.from({ length: 16 }, () => Buffer.alloc(4096, 1));
  for (let i = 0; i < N; i++) rd.set(pages[i & 15]);
}
else throw new Error(`unknown mode ${mode} (w, wa, r, o, c, ca, cu, copy)`);
