/**
 * A reader of the subset of Python's pickle format that torch.save writes
 * (protocol 2, with persistent ids for tensor storages): enough to rebuild
 * a state_dict, and nothing that runs code. Globals are not imported:
 * `find(module, name)` maps the few classes and functions torch uses to
 * JavaScript constructors; any other global is an error naming it.
 */

/** A Python global the caller knows how to build: called by REDUCE with its arguments. */
export type PyCallable = (args: readonly unknown[]) => unknown;

export interface PickleHooks {
  /** The global `module.name`, or undefined when it is not allowed. */
  readonly find: (module: string, name: string) => PyCallable | undefined;
  /** What a persistent id (torch: a storage's description) stands for. */
  readonly persistentLoad: (pid: unknown) => unknown;
}

export class PickleError extends Error {
  override readonly name = 'PickleError';
}

/** A dict as pickled: its entries in order (state_dicts are OrderedDicts; the order matters). */
export class PyDict {
  readonly entries: Array<[unknown, unknown]> = [];
  /** The instance's own state (BUILD), e.g. a state_dict's `_metadata`: not entries. */
  attrs: unknown;
  set(k: unknown, v: unknown): void {
    const at = this.entries.findIndex(([key]) => key === k);
    if (at >= 0) this.entries[at]![1] = v;
    else this.entries.push([k, v]);
  }
  get(k: unknown): unknown {
    return this.entries.find(([key]) => key === k)?.[1];
  }
}

/** An object REDUCE or NEWOBJ made from a global that is only data (e.g. a class torch pickles but the reader ignores). */
export class PyObject {
  state: unknown;
  constructor(
    readonly type: string,
    readonly args: readonly unknown[],
  ) {}
}

const MARK = Symbol('mark');

/** Reads one pickle starting at `offset`; returns its value and where it ended. */
export const unpickle = (bytes: Uint8Array, hooks: PickleHooks, offset = 0): { value: unknown; end: number } => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder();
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = offset;
  const need = (n: number) => {
    if (p + n > bytes.length) throw new PickleError(`pickle truncated at byte ${p} (needs ${n} more)`);
  };
  const u8 = () => (need(1), bytes[p++]!);
  const u16 = () => (need(2), (p += 2), view.getUint16(p - 2, true));
  const i32 = () => (need(4), (p += 4), view.getInt32(p - 4, true));
  const u32 = () => (need(4), (p += 4), view.getUint32(p - 4, true));
  const take = (n: number) => (need(n), (p += n), bytes.subarray(p - n, p));
  const line = () => {
    const end = bytes.indexOf(0x0a, p);
    if (end < 0) throw new PickleError(`pickle: unterminated text at byte ${p}`);
    const s = text.decode(bytes.subarray(p, end));
    p = end + 1;
    return s;
  };
  const popMark = (): unknown[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) throw new PickleError(`pickle: no MARK before byte ${p}`);
    const items = stack.splice(at);
    items.shift();
    return items;
  };
  const pop = () => {
    if (stack.length === 0) throw new PickleError(`pickle: stack underflow at byte ${p}`);
    return stack.pop();
  };
  const top = () => stack[stack.length - 1];
  const global = (module: string, name: string): PyCallable => {
    const f = hooks.find(module, name);
    if (f === undefined) throw new PickleError(`pickle: the global ${module}.${name} is not one this reader builds (not a torch state_dict?)`);
    return f;
  };
  const longLE = (b: Uint8Array): number => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b.length > 0 && (b[b.length - 1]! & 0x80) !== 0) v -= 1n << BigInt(8 * b.length);
    return Number(v);
  };
  const setItems = (d: unknown, items: unknown[]) => {
    if (!(d instanceof PyDict)) throw new PickleError(`pickle: SETITEM(S) on a ${typeof d} at byte ${p}`);
    for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: take(8); break; // FRAME
      case 0x2e: return { value: pop(), end: p }; // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE (tuples as arrays)
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(longLE(take(u8()))); break; // LONG1
      case 0x47: need(8); p += 8; stack.push(view.getFloat64(p - 8, false)); break; // BINFLOAT (big-endian)
      case 0x58: stack.push(text.decode(take(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(text.decode(take(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: { need(8); const n = Number(view.getBigUint64(p, true)); p += 8; stack.push(text.decode(take(n))); break; } // BINUNICODE8
      case 0x55: stack.push(text.decode(take(u8()))); break; // SHORT_BINSTRING
      case 0x54: stack.push(text.decode(take(i32()))); break; // BINSTRING
      case 0x43: stack.push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x42: stack.push(take(u32()).slice()); break; // BINBYTES
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: stack.push(memo.get(u8())); break; // BINGET
      case 0x6a: stack.push(memo.get(u32())); break; // LONG_BINGET
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
      case 0x61: { const v = pop(); (top() as unknown[]).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); (top() as unknown[]).push(...items); break; } // APPENDS
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x63: { const module = line(); stack.push(global(module, line())); break; } // GLOBAL
      case 0x93: { const name = pop() as string; stack.push(global(pop() as string, name)); break; } // STACK_GLOBAL
      case 0x52: { const args = pop() as unknown[]; const f = pop() as PyCallable; stack.push(f(args)); break; } // REDUCE
      case 0x81: { const args = pop() as unknown[]; const f = pop() as PyCallable; stack.push(f(args)); break; } // NEWOBJ
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof PyObject) obj.state = state;
        else if (obj instanceof PyDict) obj.attrs = state;
        break;
      }
      case 0x51: stack.push(hooks.persistentLoad(pop())); break; // BINPERSID
      case 0x50: stack.push(hooks.persistentLoad(line())); break; // PERSID
      case 0x30: pop(); break; // POP
      case 0x32: stack.push(top()); break; // DUP
      case 0x31: popMark(); break; // POP_MARK
      default:
        throw new PickleError(`pickle: opcode 0x${op.toString(16)} at byte ${p - 1} is not one torch.save writes`);
    }
  }
};
