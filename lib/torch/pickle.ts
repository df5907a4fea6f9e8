/**
 * A bounded reader for the pickles TorchScript writes (`data.pkl`,
 * `constants.pkl`): protocol 2 and the opcodes LibTorch's own unpickler
 * accepts, no others. It builds no objects and runs nothing: it follows the
 * stack just far enough to find every tensor, its storage record (key, dtype,
 * element count) and its view (offset, sizes, strides), so that the archive
 * check can prove each record holds its tensor before LibTorch, which trusts
 * them, reads it. Work and memory are linear in the pickle's length (a memo
 * index may not jump ahead, as LibTorch would allocate up to it).
 */

/** A storage record a pickle refers to: `<archive>/<pickle name>/<key>`. */
export interface StorageRef {
  key: string;
  dtype: string;
  itemSize: number;
  numel: number;
}

/** A tensor over a storage; numbers are elements, not bytes. */
export interface TensorView {
  storage: StorageRef;
  offset: number;
  sizes: number[];
  strides: number[];
}

/** Bytes per element of each storage type LibTorch names `torch.<Type>Storage`. */
const ITEM_SIZE: Record<string, number> = {
  Byte: 1, Char: 1, Short: 2, Int: 4, Long: 8, Half: 2, Float: 4, Double: 8, ComplexHalf: 4, ComplexFloat: 8,
  ComplexDouble: 16, Bool: 1, QInt8: 1, QUInt8: 1, QInt32: 4, BFloat16: 2, QUInt4x2: 1, QUInt2x4: 1,
  Float8_e5m2: 1, Float8_e4m3fn: 1, Float8_e5m2fnuz: 1, Float8_e4m3fnuz: 1, UInt16: 2, UInt32: 4, UInt64: 8,
};

const TENSOR_REBUILDS = new Set(['torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_qtensor']);

type Value =
  | { k: 'int'; v: number }
  | { k: 'str'; v: string }
  | { k: 'tuple'; items: Value[] }
  | { k: 'global'; name: string }
  | { k: 'storage'; ref: StorageRef }
  | { k: 'other' };

const OTHER: Value = { k: 'other' };

/** Every storage reference and tensor view in a TorchScript pickle; `fail` for anything LibTorch would misread. */
export function tensorsOfPickle(bytes: Buffer, fail: (why: string) => never): { storages: StorageRef[]; views: TensorView[] } {
  const stack: Value[] = [];
  const marks: number[] = [];
  const memo: Value[] = [];
  const storages: StorageRef[] = [];
  const views: TensorView[] = [];
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) fail('the pickle is truncated');
  };
  const u8 = () => (need(1), bytes[at++]!);
  const u16 = () => (need(2), (at += 2), bytes.readUInt16LE(at - 2));
  const u32 = () => (need(4), (at += 4), bytes.readUInt32LE(at - 4));
  const pop = (): Value => {
    if (stack.length === 0) fail('the pickle pops an empty stack');
    return stack.pop()!;
  };
  const popMark = (): number => {
    const mark = marks.pop();
    if (mark === undefined || mark > stack.length) fail('the pickle closes a container it never opened');
    return mark;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) fail('the pickle is truncated');
    const text = bytes.toString('utf8', at, end);
    at = end + 1;
    return text;
  };
  const int = (v: Value | undefined, what: string): number => {
    if (v?.k !== 'int') fail(`a tensor's ${what} is not an integer`);
    return v.v;
  };
  const ints = (v: Value | undefined, what: string): number[] => {
    if (v?.k !== 'tuple') fail(`a tensor's ${what} is not a tuple`);
    return v.items.map((x) => int(x, what));
  };
  const rebuildTensor = (args: Value) => {
    if (args.k !== 'tuple' || args.items[0]?.k !== 'storage') fail('a tensor is rebuilt without its storage');
    const [storage, offset, sizes, strides] = args.items as [Extract<Value, { k: 'storage' }>, Value, Value, Value];
    views.push({ storage: storage.ref, offset: int(offset, 'offset'), sizes: ints(sizes, 'sizes'), strides: ints(strides, 'strides') });
  };
  const memoize = (id: number) => {
    if (stack.length === 0) fail('the pickle memoizes an empty stack');
    if (id > memo.length) fail(`the pickle's memo jumps to index ${id}`);
    memo[id] = stack[stack.length - 1]!;
  };
  const recall = (id: number) => {
    if (id >= memo.length) fail(`the pickle reads memo index ${id}, which it never wrote`);
    stack.push(memo[id]!);
  };

  if (u8() !== 0x80 || u8() !== 2) fail('the pickle is not protocol 2, which TorchScript writes');
  for (;;) {
    const op = u8();
    switch (op) {
      case 0x2e /* . STOP */:
        if (stack.length !== 1) fail(`the pickle ends with ${stack.length} values on its stack, not 1`);
        return { storages, views };
      case 0x28 /* ( MARK */: marks.push(stack.length); break;
      case 0x5d /* ] EMPTY_LIST */: case 0x7d /* } EMPTY_DICT */: case 0x4e /* N NONE */:
      case 0x88 /* NEWTRUE */: case 0x89 /* NEWFALSE */:
        stack.push(OTHER); break;
      case 0x29 /* ) EMPTY_TUPLE */: stack.push({ k: 'tuple', items: [] }); break;
      case 0x71 /* q BINPUT */: memoize(u8()); break;
      case 0x72 /* r LONG_BINPUT */: memoize(u32()); break;
      case 0x68 /* h BINGET */: recall(u8()); break;
      case 0x6a /* j LONG_BINGET */: recall(u32()); break;
      case 0x4b /* K BININT1 */: stack.push({ k: 'int', v: u8() }); break;
      case 0x4d /* M BININT2 */: stack.push({ k: 'int', v: u16() }); break;
      case 0x4a /* J BININT */: need(4); stack.push({ k: 'int', v: bytes.readInt32LE(at) }); at += 4; break;
      case 0x8a /* LONG1 */: {
        if (u8() !== 8) fail('the pickle has a LONG1 that is not 8 bytes (LibTorch reads only those)');
        need(8);
        const v = bytes.readBigInt64LE(at);
        at += 8;
        // Beyond 2^53 no tensor can be that large: keep it as an impossible value.
        stack.push({ k: 'int', v: v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v) });
        break;
      }
      case 0x58 /* X BINUNICODE */: {
        const n = u32();
        need(n);
        stack.push({ k: 'str', v: bytes.toString('utf8', at, at + n) });
        at += n;
        break;
      }
      case 0x47 /* G BINFLOAT */: need(8); at += 8; stack.push(OTHER); break;
      case 0x74 /* t TUPLE */: { const mark = popMark(); stack.push({ k: 'tuple', items: stack.splice(mark) }); break; }
      case 0x85 /* TUPLE1 */: case 0x86 /* TUPLE2 */: case 0x87 /* TUPLE3 */: {
        const n = op - 0x84;
        if (stack.length < n) fail('the pickle builds a tuple from too few values');
        stack.push({ k: 'tuple', items: stack.splice(stack.length - n) });
        break;
      }
      case 0x65 /* e APPENDS */: case 0x75 /* u SETITEMS */: {
        const mark = popMark();
        if (mark === 0) fail('the pickle appends to nothing');
        stack.splice(mark);
        break;
      }
      case 0x6c /* l LIST */: case 0x64 /* d DICT */: stack.splice(popMark()); stack.push(OTHER); break;
      case 0x73 /* s SETITEM */: if (stack.length < 3) fail('the pickle sets an item of nothing'); stack.splice(stack.length - 2); break;
      case 0x63 /* c GLOBAL */: { const module = line(); stack.push({ k: 'global', name: `${module}.${line()}` }); break; }
      case 0x81 /* NEWOBJ */: pop(); break;
      case 0x62 /* b BUILD */: case 0x52 /* R REDUCE */: {
        const args = pop();
        const callable = pop();
        if (callable.k !== 'global') fail('the pickle calls something that is not a global');
        if (TENSOR_REBUILDS.has(callable.name)) rebuildTensor(args);
        else if (callable.name === 'torch._tensor._rebuild_from_type_v2') {
          const [fn, , inner] = args.k === 'tuple' ? args.items : [];
          if (fn?.k === 'global' && TENSOR_REBUILDS.has(fn.name) && inner) rebuildTensor(inner);
        } else if (callable.name === 'torch._utils._rebuild_sparse_tensor') {
          fail('it holds a sparse tensor, whose indices nothing checks before use; this package does not load those');
        }
        stack.push(OTHER);
        break;
      }
      case 0x51 /* Q BINPERSID */: {
        const id = pop();
        const [tag, type, key, , numel] = id.k === 'tuple' ? id.items : [];
        if (id.k !== 'tuple' || id.items.length !== 5 || tag?.k !== 'str' || tag.v !== 'storage' || key?.k !== 'str') {
          fail('a persistent id is not a storage reference');
        }
        const dtype = type?.k === 'global' ? /^torch\.(\w+)Storage$/.exec(type.name)?.[1] : undefined;
        const itemSize = dtype === undefined ? undefined : ITEM_SIZE[dtype];
        if (itemSize === undefined) fail(`a storage has an unknown type ${type?.k === 'global' ? type.name : ''}`);
        const n = int(numel, 'element count');
        if (!(n >= 0) || !Number.isSafeInteger(n * itemSize)) fail(`storage ${key.v} claims ${n} elements`);
        const ref = { key: key.v, dtype: dtype!, itemSize, numel: n };
        storages.push(ref);
        stack.push({ k: 'storage', ref });
        break;
      }
      default:
        fail(`the pickle has opcode 0x${op.toString(16)}, which TorchScript never writes`);
    }
  }
}

/** Elements a view reaches into its storage: 0 for an empty tensor, else the last element's index + 1. */
export function viewExtent(view: TensorView): bigint {
  if (view.sizes.some((s) => s === 0)) return 0n;
  let last = BigInt(view.offset);
  view.sizes.forEach((s, i) => {
    last += BigInt(s - 1) * BigInt(view.strides[i]!);
  });
  return last + 1n;
}
