/**
 * The log lives in a shared `WebAssembly.Memory` rather than a bare
 * SharedArrayBuffer, for one reason: the read path's ctail check.
 *
 * In Node 20, `Atomics.load` is an out-of-line builtin call (measured ~15 ns
 * here, about as much as the Map.get it guards), while a call into this
 * one-instruction wasm function costs ~5 ns. Both are sequentially
 * consistent atomic loads of the same memory: JS and wasm share one memory
 * model. `memory.buffer` is an ordinary SharedArrayBuffer, so the rest of
 * the runtime uses plain Atomics on it. A shared Memory is structured-
 * cloneable, so handles still travel through workerData.
 *
 * The module, in text form:
 *   (module
 *     (import "nr" "memory" (memory 0 65536 shared))
 *     (func (export "load") (param i32) (result i32)
 *       local.get 0
 *       i32.atomic.load))
 */

const PAGE = 65536;

/** A shared WebAssembly.Memory (typed locally: Node 20's type definitions lack WebAssembly). */
export interface SharedMemory {
  readonly buffer: SharedArrayBuffer;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: true }) => SharedMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const LOAD_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, // type section: (i32) -> i32
  0x02, 0x11, 0x01, // import section (17 bytes), 1 import
  0x02, 0x6e, 0x72, // "nr"
  0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, // "memory"
  0x02, 0x03, 0x00, 0x80, 0x80, 0x04, // memory, shared with max: min 0, max 65536 pages
  0x03, 0x02, 0x01, 0x00, // function section: func 0 has type 0
  0x07, 0x08, 0x01, 0x04, 0x6c, 0x6f, 0x61, 0x64, 0x00, 0x00, // export "load" = func 0
  0x0a, 0x0a, 0x01, 0x08, 0x00, 0x20, 0x00, 0xfe, 0x10, 0x02, 0x00, 0x0b, // code: local.get 0; i32.atomic.load align=4; end
]);

let compiled: object | null | undefined;

function loadModule(): object | null {
  if (compiled === undefined) {
    try {
      compiled = new wasm.Module(LOAD_MODULE);
    } catch {
      compiled = null; // no wasm threads support: fall back to Atomics.load
    }
  }
  return compiled;
}

/** Whether atomic loads go through wasm (false: this runtime lacks wasm threads). */
export function wasmLoadsAvailable(): boolean {
  return loadModule() !== null;
}

/** A shared memory of at least `bytes` bytes (rounded up to 64 KiB pages). */
export function createSharedMemory(bytes: number): SharedMemory {
  const pages = Math.ceil(bytes / PAGE);
  return new wasm.Memory({ initial: pages, maximum: pages, shared: true });
}

/** A seq-cst atomic Int32 load by byte offset (a multiple of 4). */
export type ByteLoader = (byteOffset: number) => number;

/**
 * The fastest atomic loader this runtime allows. Call it directly (not
 * through a wrapper) so the JIT can inline the call into wasm.
 */
export function atomicLoader(memory: SharedMemory): ByteLoader {
  const mod = loadModule();
  if (mod !== null) return new wasm.Instance(mod, { nr: { memory } }).exports.load as ByteLoader;
  const words = new Int32Array(memory.buffer);
  return (byteOffset) => Atomics.load(words, byteOffset >> 2);
}
