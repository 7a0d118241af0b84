/**
 * Test worker: attach a replica, report its slot, then overwrite `keys`
 * keys with `valueBytes`-byte values until terminated (sync puts, and async
 * bursts of 4 every 8th op), counting each answered write in control[0]
 * (notified) and yielding to its event loop every 16 ops. A write that
 * throws is reported and stops the loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachKv, type KvHandle } from '../../src/kv/index.js';

interface ChurnInput {
  handle: KvHandle;
  key: Uint8Array;
  control: SharedArrayBuffer;
  keys: number;
  valueBytes: number;
  /** Values written are `${tag}:${n}` padded to valueBytes. */
  tag: string;
}

const input = workerData as ChurnInput;
const ctl = new Int32Array(input.control);
const valueOf = (n: number): string => `${input.tag}:${n}:`.padEnd(input.valueBytes, '.');

async function main(): Promise<void> {
  const store = attachKv(input.handle, { key: input.key });
  parentPort!.postMessage({ ready: true, slot: store.replica.id });
  for (let n = 0; ; ) {
    if (n % 8 === 7) {
      const burst = [0, 1, 2, 3].map((j) => store.putAsync(`key-${(n + j) % input.keys}`, valueOf(n + j)));
      await Promise.all(burst);
      n += 4;
      Atomics.add(ctl, 0, 4);
    } else {
      store.put(`key-${n % input.keys}`, valueOf(n));
      n++;
      Atomics.add(ctl, 0, 1);
    }
    Atomics.notify(ctl, 0);
    if (n % 16 === 0) await new Promise((r) => setImmediate(r));
  }
}

main().catch((e: unknown) => {
  const err = e as Error & { code?: string };
  parentPort!.postMessage({ error: { name: err?.name, code: err?.code, message: String(err?.message ?? e) } });
});
