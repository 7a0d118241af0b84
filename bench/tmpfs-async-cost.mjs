/**
 * The tmpfs baseline's two ways (session 13): N 4 KiB pwrites at page
 * offsets of a file under /dev/shm, as node:fs writeSync calls and as
 * fs.promises FileHandle.write with 64 in flight (libuv's thread pool);
 * CPU time of every thread of the process per op
 * (/proc/self/task/./schedstat), twice each.
 *
 *   node bench/tmpfs-async-cost.mjs [N=50000]
 */
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';

const N = Number(process.argv[2] ?? 50000);
const cpuNs = () => readdirSync('/proc/self/task').reduce((s, t) => { try { return s + Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'latin1').split(' ')[0]); } catch { return s; } }, 0);
const dir = mkdtempSync('/dev/shm/tmpfs-async-');
const buf = Buffer.alloc(4096, 7);
const fd = openSync(`${dir}/f`, 'w+');
const fh = await open(`${dir}/f`, 'r+');
for (let round = 0; round < 2; round++) {
  let c0 = cpuNs();
  for (let k = 0; k < N; k++) writeSync(fd, buf, 0, 4096, (k & 255) * 4096);
  console.log(`writeSync: ${Math.round((cpuNs() - c0) / N)} ns CPU/op`);
  c0 = cpuNs();
  let k = 0;
  await new Promise((resolve) => {
    let inFlight = 0;
    const next = () => {
      if (k >= N) return void (inFlight === 0 && resolve());
      const at = (k++ & 255) * 4096;
      inFlight++;
      fh.write(buf, 0, 4096, at).then(() => {
        inFlight--;
        next();
      });
    };
    for (let j = 0; j < 64; j++) next();
  });
  console.log(`fs.promises write, 64 in flight: ${Math.round((cpuNs() - c0) / N)} ns CPU/op`);
}
closeSync(fd);
await fh.close();
rmSync(dir, { recursive: true });
