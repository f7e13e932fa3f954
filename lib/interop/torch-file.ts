/**
 * A torch.save file's state_dict, read from its bytes with no Python: the
 * zip format (torch >= 1.6: NAME/data.pkl and NAME/data/KEY storages) and
 * the legacy format (pickles of a magic number, the protocol, system info,
 * the object, the storage keys, then each storage's raw bytes). Float
 * tensors come out as float32 (fp16, bf16 and fp64 storages converted);
 * integer tensors (batch norm's num_batches_tracked) as numbers. No file
 * system here.
 */
import { unzipSync } from 'fflate';
import { PickleError, PyDict, PyObject, unpickle, type PickleHooks, type PyCallable } from './pickle.ts';

export interface TorchTensor {
  readonly key: string;
  readonly shape: readonly number[];
  /** Row-major (C order) values. */
  readonly data: Float32Array;
  readonly dtype: string;
}

export class TorchFileError extends Error {
  override readonly name = 'TorchFileError';
}

const DTYPES: Record<string, { bytes: number; dtype: string }> = {
  FloatStorage: { bytes: 4, dtype: 'float32' },
  HalfStorage: { bytes: 2, dtype: 'float16' },
  BFloat16Storage: { bytes: 2, dtype: 'bfloat16' },
  DoubleStorage: { bytes: 8, dtype: 'float64' },
  LongStorage: { bytes: 8, dtype: 'int64' },
  IntStorage: { bytes: 4, dtype: 'int32' },
  ShortStorage: { bytes: 2, dtype: 'int16' },
  CharStorage: { bytes: 1, dtype: 'int8' },
  ByteStorage: { bytes: 1, dtype: 'uint8' },
  BoolStorage: { bytes: 1, dtype: 'bool' },
};

interface StorageType {
  readonly storage: string;
}
interface Storage {
  readonly type: string;
  readonly key: string;
  /** The storage's elements as float64 numbers, read lazily. */
  values(): Float64Array;
}
class Tensor {
  constructor(
    readonly storage: Storage,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

const half = (h: number): number => {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const v = e === 0 ? m * 2 ** -24 : e === 31 ? (m === 0 ? Infinity : NaN) : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
};

/** Little-endian elements of `type` as numbers. */
const decodeStorage = (type: string, bytes: Uint8Array, where: string): Float64Array => {
  const t = DTYPES[type];
  if (t === undefined) throw new TorchFileError(`${where}: storage type ${type} is not supported`);
  const n = Math.floor(bytes.byteLength / t.bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * t.bytes;
    out[i] =
      t.dtype === 'float32' ? view.getFloat32(o, true)
      : t.dtype === 'float16' ? half(view.getUint16(o, true))
      : t.dtype === 'bfloat16' ? new Float32Array(new Uint32Array([view.getUint16(o, true) << 16]).buffer)[0]!
      : t.dtype === 'float64' ? view.getFloat64(o, true)
      : t.dtype === 'int64' ? Number(view.getBigInt64(o, true))
      : t.dtype === 'int32' ? view.getInt32(o, true)
      : t.dtype === 'int16' ? view.getInt16(o, true)
      : t.dtype === 'int8' ? view.getInt8(o)
      : view.getUint8(o);
  }
  return out;
};

/** The globals a state_dict pickle names, built as plain values. */
const hooksFor = (where: string, storage: (pid: readonly unknown[]) => Storage): PickleHooks => {
  const find = (module: string, name: string): PyCallable | undefined => {
    if (module === 'collections' && name === 'OrderedDict') return () => new PyDict();
    if (module === 'torch._utils' && name === '_rebuild_tensor_v2')
      return ([s, offset, shape, stride]) => new Tensor(s as Storage, offset as number, shape as number[], stride as number[]);
    if (module === 'torch._utils' && name === '_rebuild_parameter') return ([data]) => data;
    // A storage class is pickled as a reference (the persistent id holds it, uncalled).
    if (module === 'torch' && name.endsWith('Storage')) return Object.assign(() => ({ storage: name }), { storage: name } satisfies StorageType);
    if (module === 'torch.nn.modules.module' || module.startsWith('torch.nn.')) return undefined;
    return (args) => new PyObject(`${module}.${name}`, args);
  };
  return {
    find: (module, name) => {
      const f = find(module, name);
      if (f !== undefined) return f;
      throw new TorchFileError(`${where}: it pickles ${module}.${name}: a whole model, not a state_dict — save net.state_dict() (the reference's checkpoints are state_dicts)`);
    },
    persistentLoad: (pid) => {
      if (!Array.isArray(pid) || pid[0] !== 'storage') throw new TorchFileError(`${where}: an unknown persistent id ${JSON.stringify(pid)}`);
      return storage(pid);
    },
  };
};

const storageTypeOf = (t: unknown, where: string): string => {
  const name = (t as StorageType | undefined)?.storage;
  if (name === undefined) throw new TorchFileError(`${where}: a storage without a type`);
  if (DTYPES[name] === undefined) throw new TorchFileError(`${where}: storage type torch.${name} is not supported (fp32, fp16, bf16, fp64 and integer storages are)`);
  return name;
};

/** The state_dict's tensors, in its order, as float32 row-major arrays. */
const tensorsOf = (obj: unknown, where: string): TorchTensor[] => {
  const dict = obj instanceof PyDict ? obj : undefined;
  if (dict === undefined) throw new TorchFileError(`${where}: it holds a ${obj === null ? 'None' : typeof obj}, not a state_dict (a dict of tensors)`);
  // A checkpoint dict wrapping the state_dict (e.g. {'state_dict': ...}) is unwrapped when that is all it holds of tensors.
  const inner = dict.entries.length === 1 && dict.entries[0]![1] instanceof PyDict ? (dict.entries[0]![1] as PyDict) : dict;
  return inner.entries.flatMap(([k, v]) => {
    if (!(v instanceof Tensor)) return [];
    const n = v.shape.reduce((a, b) => a * b, 1);
    const src = v.storage.values();
    const data = new Float32Array(n);
    const idx = new Array<number>(v.shape.length).fill(0);
    for (let i = 0; i < n; i++) {
      let o = v.offset;
      for (let d = 0; d < idx.length; d++) o += idx[d]! * v.stride[d]!;
      if (o >= src.length) throw new TorchFileError(`${where}: tensor ${String(k)} reads past its storage`);
      data[i] = src[o]!;
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d]! < v.shape[d]!) break;
        idx[d] = 0;
      }
    }
    return [{ key: String(k), shape: [...v.shape], data, dtype: DTYPES[v.storage.type]!.dtype }];
  });
};

const readZip = (bytes: Uint8Array, where: string): TorchTensor[] => {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new TorchFileError(`${where}: a zip that cannot be read (${(e as Error).message})`);
  }
  const pkl = Object.keys(files).find((f) => /^[^/]+\/data\.pkl$/.test(f));
  if (pkl === undefined) throw new TorchFileError(`${where}: a zip without NAME/data.pkl: not a torch.save file`);
  const root = pkl.slice(0, -'data.pkl'.length);
  const order = files[`${root}byteorder`];
  if (order !== undefined && new TextDecoder().decode(order).trim() !== 'little') throw new TorchFileError(`${where}: big-endian storages are not supported`);
  const storages = new Map<string, Storage>();
  const hooks = hooksFor(where, (pid) => {
    const [, type, key] = pid as [string, unknown, string];
    const name = storageTypeOf(type, where);
    const found = storages.get(key);
    if (found !== undefined) return found;
    const raw = files[`${root}data/${key}`];
    if (raw === undefined) throw new TorchFileError(`${where}: storage ${root}data/${key} is missing`);
    let cache: Float64Array | undefined;
    const s: Storage = { type: name, key, values: () => (cache ??= decodeStorage(name, raw, where)) };
    storages.set(key, s);
    return s;
  });
  return tensorsOf(unpickle(files[pkl]!, hooks).value, where);
};

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

const readLegacy = (bytes: Uint8Array, where: string): TorchTensor[] => {
  const plain: PickleHooks = { find: () => undefined, persistentLoad: () => null };
  let at = 0;
  const next = (hooks: PickleHooks = plain) => {
    const r = unpickle(bytes, hooks, at);
    at = r.end;
    return r.value;
  };
  const magic = next();
  if (magic !== Number(LEGACY_MAGIC)) throw new TorchFileError(`${where}: neither a zip nor a legacy torch.save file (no magic number)`);
  next(); // protocol version
  next(); // sys_info
  const types = new Map<string, string>();
  const hooks = hooksFor(where, (pid) => {
    const [, type, key] = pid as [string, unknown, string];
    const name = storageTypeOf(type, where);
    types.set(key, name);
    const s: Storage = { type: name, key, values: () => values.get(key) ?? new Float64Array(0) };
    return s;
  });
  const values = new Map<string, Float64Array>();
  const obj = next(hooks);
  const keys = next() as string[];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys) {
    const type = types.get(key);
    if (type === undefined) throw new TorchFileError(`${where}: storage ${key} has no type`);
    if (at + 8 > bytes.length) throw new TorchFileError(`${where}: truncated before storage ${key}`);
    const n = Number(view.getBigInt64(at, true));
    at += 8;
    const size = n * DTYPES[type]!.bytes;
    if (at + size > bytes.length) throw new TorchFileError(`${where}: truncated in storage ${key} (${n} elements)`);
    values.set(key, decodeStorage(type, bytes.subarray(at, at + size), where));
    at += size;
  }
  return tensorsOf(obj, where);
};

/** The tensors of the state_dict in a torch.save file's bytes, in the file's order; `name` is what errors call it. */
export const readTorchStateDict = (bytes: Uint8Array, name = 'the .pth file'): TorchTensor[] => {
  try {
    return bytes[0] === 0x50 && bytes[1] === 0x4b ? readZip(bytes, name) : readLegacy(bytes, name);
  } catch (e) {
    if (e instanceof PickleError) throw new TorchFileError(`${name}: ${e.message}`, { cause: e });
    throw e;
  }
};
