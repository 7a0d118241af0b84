/**
 * A KV client closed with a put in flight. The put's value is sealed into
 * an arena block by the client before it is sent; whether the block may be
 * reused depends on the error the put ends with. close() used to fail it
 * with DetachedError, which the KV client reads as "never sent" and frees
 * the block at once, while the node still applies the record that
 * references it: the next value of that size class took the block, and the
 * put that did take effect read back as IntegrityError. Now the put fails
 * with TimeoutError (it may take effect) and its block is kept.
 * The node runs in this thread, so it cannot answer while close() waits.
 */
import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../src/nr/index.js';
import { attachKv, connectKv, createKv } from '../src/kv/index.js';

const KEY = new Uint8Array(32).fill(3);

describe('KV client close() with a put in flight', () => {
  it('the put fails with TimeoutError, takes effect once the node runs, and its value stays readable after the arena is reused', async () => {
    const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, clients: 1 } });
    const node = attachKv(h, { key: KEY });
    node.put('a', '1');
    const c = connectKv(h, { key: KEY, client: { timeoutMs: 200 } });
    const put = c.putAsync('b', 'value of b').then(() => 'answered', (e: unknown) => e);
    c.close(); // sends its window, waits 200 ms for an answer that cannot come
    const e = await put;
    expect(e).toBeInstanceOf(TimeoutError);
    // The node's event loop serves the abandoned slot's request: the put takes effect.
    const deadline = Date.now() + 5000;
    while (node.getString('b') === undefined) {
      if (Date.now() > deadline) throw new Error('the node never applied the put');
      await new Promise((r) => setTimeout(r, 5));
    }
    // Values of the same size class: one of them would take a block freed too early.
    for (let i = 0; i < 8; i++) node.put(`other${i}`, 'value of ' + String(i));
    await new Promise((r) => setTimeout(r, 100)); // past the 50 ms grace of freed blocks
    for (let i = 8; i < 16; i++) node.put(`other${i}`, 'value of ' + String(i % 10));
    expect(node.getString('b')).toBe('value of b');
    node.detach();
  });
});
