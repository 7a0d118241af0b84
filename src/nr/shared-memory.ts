/**
 * The log lives in a shared `WebAssembly.Memory` rather than a bare
 * SharedArrayBuffer, for one reason: the read path's ctail check.
 *
 * In Node 20, `Atomics.load` is an out-of-line builtin call (measured ~15 ns
 * here, about as much as the Map.get it guards; ~127 instructions), while a
 * call into a one-instruction wasm function costs ~5 ns (~33 instructions:
 * TurboFan inlines the JS-to-wasm wrapper, not the wasm body). Both are
 * sequentially consistent atomic loads of the same memory: JS and wasm
 * share one memory model. `memory.buffer` is an ordinary SharedArrayBuffer,
 * so the rest of the runtime uses plain Atomics on it. A shared Memory is
 * structured-cloneable, so handles still travel through workerData.
 *
 * The module, in text form, for a word at byte offset OFFSET:
 *   (module
 *     (import "nr" "memory" (memory 0 65536 shared))
 *     (func (export "load") (result i32)
 *       i32.const OFFSET
 *       i32.atomic.load))
 * The offset is a constant of the module, not a parameter: the compiled load
 * then has no alignment check, and the call passes no argument (8 fewer
 * instructions per read than `(param i32)`, callgrind; docs/nr.md).
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

/** Signed LEB128, as `i32.const` takes its immediate. */
function sleb128(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** The module that loads the word at `byteOffset` (see the text form above). */
function loadModuleBytes(byteOffset: number): Uint8Array {
  // local decls (none); i32.const OFFSET; i32.atomic.load align=2^2 offset=0; end
  const body = [0x00, 0x41, ...sleb128(byteOffset), 0xfe, 0x10, 0x02, 0x00, 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type section: () -> i32
    0x02, 0x11, 0x01, // import section (17 bytes), 1 import
    0x02, 0x6e, 0x72, // "nr"
    0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, // "memory"
    0x02, 0x03, 0x00, 0x80, 0x80, 0x04, // memory, shared with max: min 0, max 65536 pages
    0x03, 0x02, 0x01, 0x00, // function section: func 0 has type 0
    0x07, 0x08, 0x01, 0x04, 0x6c, 0x6f, 0x61, 0x64, 0x00, 0x00, // export "load" = func 0
    0x0a, body.length + 2, 0x01, body.length, ...body, // code section: one body
  ]);
}

/** Compiled modules by byte offset (every log's CTAIL is at the same offset: one module). null: no wasm threads. */
const compiled = new Map<number, object | null>();

function loadModule(byteOffset: number): object | null {
  let mod = compiled.get(byteOffset);
  if (mod === undefined) {
    try {
      mod = new wasm.Module(loadModuleBytes(byteOffset));
    } catch {
      mod = null; // no wasm threads support: fall back to Atomics.load
    }
    compiled.set(byteOffset, mod);
  }
  return mod;
}

/** Whether atomic loads go through wasm (false: this runtime lacks wasm threads). */
export function wasmLoadsAvailable(): boolean {
  return loadModule(0) !== null;
}

/** A shared memory of at least `bytes` bytes (rounded up to 64 KiB pages). */
export function createSharedMemory(bytes: number): SharedMemory {
  const pages = Math.ceil(bytes / PAGE);
  return new wasm.Memory({ initial: pages, maximum: pages, shared: true });
}

/** A seq-cst atomic load of one Int32 word of shared memory, fixed when it was made. */
export type WordLoader = () => number;

/**
 * The fastest atomic loader of the Int32 word at `byteOffset` (a multiple
 * of 4 inside the memory) this runtime allows. Call it directly (not through
 * a wrapper) so the JIT can inline the call into wasm.
 */
export function wordLoader(memory: SharedMemory, byteOffset: number): WordLoader {
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 4 !== 0 || byteOffset + 4 > memory.buffer.byteLength) {
    throw new RangeError(`wordLoader: byte offset ${byteOffset} is not an aligned word of the memory`);
  }
  const mod = loadModule(byteOffset);
  if (mod !== null) return new wasm.Instance(mod, { nr: { memory } }).exports.load as WordLoader;
  const words = new Int32Array(memory.buffer);
  const index = byteOffset >> 2;
  return () => Atomics.load(words, index);
}
