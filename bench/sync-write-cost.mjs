// CPU cost of one synchronous write on one replica (500k HashMap puts, 3 rounds).
// Usage: node bench/sync-write-cost.mjs <checkout dir with dist/ built> (compare two checkouts in turn).
const dir = process.argv[2];
const { attach, createHandle } = await import(dir + '/dist/src/nr/index.js');
const { HashMap } = await import(dir + '/dist/src/nr/structures/index.js');
const h = createHandle(HashMap, { replicas: 1 });
const r = attach(h, HashMap);
for (let round = 0; round < 3; round++) {
  const t0 = performance.now();
  for (let i = 0; i < 500000; i++) r.writes.put(i & 0xffff, i);
  const t = performance.now() - t0;
  console.log(dir.split('/').pop(), `${(t * 1e6 / 500000).toFixed(0)} ns/put`);
}
r.detach();
