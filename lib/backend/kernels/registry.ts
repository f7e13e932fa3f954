/**
 * Idempotent kernel overrides that remember the stock kernel they replace.
 *
 * State lives on globalThis (keyed by Symbol.for) rather than in this module,
 * because the tfjs kernel registry is process-global while this module may be
 * instantiated more than once (test runners, duplicated bundles): a second
 * instance must see the first one's overrides, not capture them as "stock".
 */
import * as tf from '@tensorflow/tfjs';

const OURS = Symbol.for('pix2pix-ts.kernel');
const STOCK = Symbol.for('pix2pix-ts.stock-kernels');

type Store = Map<string, tf.KernelConfig>;

function store(): Store {
  const g = globalThis as { [STOCK]?: Store };
  g[STOCK] ??= new Map();
  return g[STOCK];
}

function isOurs(config: tf.KernelConfig | undefined): boolean {
  return config !== undefined && OURS in config.kernelFunc;
}

/** The kernel that was registered before ours, if any (also when ours is not installed yet). */
export function stockKernel(kernelName: string, backendName: string): tf.KernelConfig | undefined {
  const saved = store().get(`${kernelName}/${backendName}`);
  if (saved !== undefined) return saved;
  const current = tf.getKernel(kernelName, backendName);
  return isOurs(current) ? undefined : current;
}

/**
 * Installs `make(stock)` as the kernel, unless one of ours is already there.
 * `make` receives the stock kernel (undefined when the backend has none).
 */
export function override(
  kernelName: string,
  backendName: string,
  make: (stock: tf.KernelConfig | undefined) => tf.KernelFunc,
): void {
  const current = tf.getKernel(kernelName, backendName);
  if (isOurs(current)) return;
  const key = `${kernelName}/${backendName}`;
  if (current !== undefined) store().set(key, current);
  const kernelFunc = make(current);
  Object.defineProperty(kernelFunc, OURS, { value: true });
  // registerKernel would overwrite too, but warns "already registered" on stderr.
  if (current !== undefined) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ kernelName, backendName, kernelFunc });
}

/**
 * Stock wasm kernels set themselves up (cwrap) when the backend initializes;
 * one that was unregistered before that never was. Run its setup on first use.
 */
const setUp = new WeakMap<object, Set<tf.KernelConfig>>();
export function callStock(
  stock: tf.KernelConfig | undefined,
  what: string,
  args: Parameters<tf.KernelFunc>[0],
): ReturnType<tf.KernelFunc> {
  if (stock === undefined) throw new Error(`${what} is not supported by this backend`);
  if (stock.setupFunc !== undefined) {
    const done = setUp.get(args.backend) ?? new Set();
    if (!done.has(stock)) {
      stock.setupFunc(args.backend);
      done.add(stock);
      setUp.set(args.backend, done);
    }
  }
  return stock.kernelFunc(args);
}
