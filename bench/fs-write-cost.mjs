/**
 * The cost of one NrFS data op, for instruction counts: one replica, a
 * file of 16 pages, N 4 KiB ops in a loop after setup (MODE w:
 * pwrites, r: preads). Run under callgrind at two N and divide the
 * difference:
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
const h = createFs({ replicas: 1, capacityBytes: 64 << 20 });
const fs = attachFs(h);
const fd = fs.open('/f', 'w+');
const buf = Buffer.alloc(4096, 1);
for (let i = 0; i < 16; i++) fs.pwrite(fd, buf, 0, 4096, i * 4096);
const rd = Buffer.alloc(4096);
if (mode === 'w') for (let i = 0; i < N; i++) fs.pwrite(fd, buf, 0, 4096, (i & 15) * 4096);
else for (let i = 0; i < N; i++) fs.pread(fd, rd, 0, 4096, (i & 15) * 4096);
