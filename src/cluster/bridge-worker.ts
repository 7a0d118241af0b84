/**
 * The bridge's worker entry (see bridge.ts). workerData: { config, structure }.
 * To its parent it says { t: 'ready' } or { t: 'error', err }; it takes
 * { t: 'port', port } (a replica's channel) and { t: 'close' }.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Bridge, type BridgeConfig } from './bridge.js';
import { toWire } from './errors.js';
import { siteStructure } from './site-structure.js';
import { loadStructure, type StructureRef } from './structure-ref.js';

const { config, structure } = workerData as { config: BridgeConfig; structure: StructureRef };
const parent = parentPort!;

try {
  const user = await loadStructure(structure);
  const bridge = new Bridge(config, siteStructure(user));
  bridge.onFailStop = (e) => parent.postMessage({ t: 'failed', err: toWire(e) });
  parent.on('message', (m: { t: 'port'; port: MessagePort } | { t: 'close' }) => {
    if (m.t === 'port') bridge.addPort(m.port);
    else if (m.t === 'close') void bridge.close().then(() => parent.postMessage({ t: 'closed', counters: bridge.counters }));
  });
  await bridge.start(user);
  parent.postMessage({ t: 'ready' });
} catch (e) {
  parent.postMessage({ t: 'error', err: toWire(e), name: (e as Error)?.name });
}
