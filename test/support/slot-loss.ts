/**
 * A hashmap replica (`node`) whose slot is declared dead right after its
 * next reservation once armed, and a second replica (`other`) to see what
 * took effect: the loss between append and apply, at a fixed point.
 */
import { attach, createHandle, declareDead } from '../../src/nr/index.js';
import { HashMap } from '../../src/nr/structures/index.js';

export function lossAfterReserve() {
  const h = createHandle(HashMap, { replicas: 2, logBytes: 4096 });
  let armed = false;
  const node = attach(h, HashMap, {
    testHooks: {
      afterReserve: () => {
        if (!armed) return;
        armed = false;
        declareDead(h, node.id);
      },
    },
  });
  const other = attach(h, HashMap);
  return { node, other, arm: () => (armed = true) };
}
