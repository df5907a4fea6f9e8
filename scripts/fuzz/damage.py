"""Writes damaged copies of a good TorchScript file, one family of damage at a time.

    damage.py GOOD.pt OUTDIR FAMILY COUNT SEED [--bomb-bytes N]

prints a JSON list of {"file", "family", "detail"}. Every archive is rebuilt
with Python's zipfile, so its CRCs and sizes are valid unless the family
breaks them on purpose: the damage is in what the records say.

Families:
  intact        no damage: the archive rebuilt as it was (a control: it must load)
  mutate        random bytes overwritten (1 to 8), anywhere in the file
  short-record  a tensor record shortened (CRC valid)
  long-record   a tensor record lengthened (CRC valid)
  numel         a storage's element count in the pickle raised
  view          a tensor's size, stride or offset raised past its storage
  bomb-record   a tensor record replaced by a deflated run of zeros of N bytes
  bomb-extra    an unreferenced deflated entry of N zero bytes added
  bomb-lying    a deflated entry whose declared size is smaller than what it inflates to
  overlap       two entries pointing at the same bytes
"""
import json
import pickletools
import random
import struct
import sys
import zipfile
import zlib
from pathlib import Path

MIB = 1 << 20


def entries(path):
    with zipfile.ZipFile(path) as z:
        return [(info, z.read(info.filename)) for info in z.infolist()]


def write(path, items, deflated=()):
    """items: [(name, bytes)]; names in `deflated` are compressed."""
    with zipfile.ZipFile(path, 'w') as z:
        for name, data in items:
            method = zipfile.ZIP_DEFLATED if name in deflated else zipfile.ZIP_STORED
            z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data, compress_type=method)


def tensor_records(items):
    return [i for i, (name, data) in enumerate(items) if '/data/' in name and len(data) > 0]


def ints_of_tensors(pickle):
    """Positions of the ints that describe each tensor: numel, offset, sizes, strides."""
    ops = list(pickletools.genops(pickle))
    found = []
    for k, (op, _arg, _pos) in enumerate(ops):
        if op.name != 'BINPERSID':
            continue
        # numel: the last int before the TUPLE that closes the persistent id.
        numel = next(j for j in range(k - 1, -1, -1) if ops[j][0].name.startswith('BININT'))
        after = [j for j in range(k + 1, min(k + 40, len(ops)))]
        ints, tuples = [], 0
        for j in after:
            name = ops[j][0].name
            if name.startswith('BININT'):
                ints.append((j, tuples))
            elif name == 'TUPLE':
                tuples += 1
                if tuples == 2:
                    break
        offset = [j for j, t in ints if t == 0][:1]
        sizes = [j for j, t in ints if t == 0][1:]
        strides = [j for j, t in ints if t == 1]
        found.append({'numel': numel, 'offset': offset, 'sizes': sizes, 'strides': strides})
    return ops, found


def set_int(pickle, ops, index, value):
    """The pickle with op `index` (an int) replaced by BININT `value`."""
    start = ops[index][2]
    end = ops[index + 1][2]
    return pickle[:start] + b'J' + struct.pack('<i', value) + pickle[end:]


def zeros_deflated(n):
    """A raw deflate stream of n zero bytes, built from one repeated block (fast for gigabytes)."""
    block = 1 << 20
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = c.compress(b'\0' * block) + c.flush(zlib.Z_FULL_FLUSH)
    c2 = zlib.compressobj(9, zlib.DEFLATED, -15)
    rest = n % block
    tail = c2.compress(b'\0' * rest) + c2.flush() if rest else zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    crc = 0
    chunk = b'\0' * block
    for _ in range(n // block):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(b'\0' * rest, crc)
    return one * (n // block) + tail, crc


def add_raw_deflated(path, name, stream, size, crc, declared=None):
    """Appends a deflated entry from a ready-made stream (zipfile cannot take one)."""
    data = bytearray(Path(path).read_bytes())
    eocd = data.rfind(b'PK\x05\x06')
    count, cd_size, cd_offset = struct.unpack('<HII', data[eocd + 10:eocd + 20])
    central = bytes(data[cd_offset:cd_offset + cd_size])
    head = bytes(data[:cd_offset])
    encoded = name.encode()
    declared = size if declared is None else declared
    local = struct.pack('<IHHHHHIIIHH', 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(stream), declared, len(encoded), 0) + encoded
    offset = len(head)
    record = struct.pack('<IHHHHHHIIIHHHHHII', 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(stream), declared,
                         len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    body = head + local + stream
    new_central = central + record
    end = struct.pack('<IHHHHIIH', 0x06054B50, 0, 0, count + 1, count + 1, len(new_central), len(body), 0)
    Path(path).write_bytes(body + new_central + end)


def damage(good, out, family, rng, bomb_bytes):
    items = [(info.filename, data) for info, data in entries(good)]
    deflated = {info.filename for info, _ in entries(good) if info.compress_type == zipfile.ZIP_DEFLATED}
    prefix = items[0][0].split('/')[0]
    records = tensor_records(items)
    if family == 'intact':
        write(out, items, deflated)
        return 'rebuilt as it was'
    if family == 'mutate':
        data = bytearray(Path(good).read_bytes())
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        Path(out).write_bytes(bytes(data))
        return 'random bytes'
    if family in ('short-record', 'long-record'):
        i = rng.choice(records)
        name, data = items[i]
        k = rng.randint(1, len(data)) if family == 'short-record' else rng.randint(1, 4096)
        items[i] = (name, data[:len(data) - k] if family == 'short-record' else data + bytes(rng.randrange(256) for _ in range(k)))
        write(out, items, deflated)
        return f'{name} {"-" if family == "short-record" else "+"}{k} bytes'
    if family in ('numel', 'view'):
        i = next(i for i, (name, _) in enumerate(items) if name == f'{prefix}/data.pkl')
        pickle = items[i][1]
        ops, tensors = ints_of_tensors(pickle)
        t = rng.choice([t for t in tensors if t['sizes']] or tensors)
        if family == 'numel':
            target, what = t['numel'], 'numel'
            value = ops[target][1] + rng.choice([1, 7, 1000, 1 << 20])
        else:
            # Only changes that reach past the storage: a stride of a dimension of size 1 changes nothing.
            def extent(change):
                offset = ops[t['offset'][0]][1]
                sizes = [ops[j][1] for j in t['sizes']]
                strides = [ops[j][1] for j in t['strides']]
                target, value = change
                if target == t['offset'][0]:
                    offset = value
                if target in t['sizes']:
                    sizes[t['sizes'].index(target)] = value
                if target in t['strides']:
                    strides[t['strides'].index(target)] = value
                return offset + sum((n - 1) * k for n, k in zip(sizes, strides)) + 1
            numel = ops[t['numel']][1]
            targets = [('offset', t['offset'][0])] + [('size', j) for j in t['sizes']] + [('stride', j) for j in t['strides']]
            choices = [(what, j, ops[j][1] + d) for what, j in targets for d in (1, 3, 1000, 1 << 24) if extent((j, ops[j][1] + d)) > numel]
            what, target, value = rng.choice(choices)
        items[i] = (items[i][0], set_int(pickle, ops, target, min(value, 2**31 - 1)))
        write(out, items, deflated)
        return f'{what} -> {value}'
    if family == 'bomb-record':
        i = rng.choice(records)
        name = items[i][0]
        del items[i]
        write(out, items, deflated)
        stream, crc = zeros_deflated(bomb_bytes)
        add_raw_deflated(out, name, stream, bomb_bytes, crc)
        return f'{name} holds {bomb_bytes} deflated bytes'
    if family == 'bomb-extra':
        write(out, items, deflated)
        stream, crc = zeros_deflated(bomb_bytes)
        add_raw_deflated(out, f'{prefix}/extra/bomb', stream, bomb_bytes, crc)
        return f'extra entry of {bomb_bytes} deflated bytes'
    if family == 'bomb-lying':
        write(out, items, deflated)
        size = rng.choice([MIB, 16 * MIB])
        stream, crc = zeros_deflated(size)
        add_raw_deflated(out, f'{prefix}/extra/lying', stream, size, crc, declared=rng.randint(1, 4096))
        return f'declares less than its {size} bytes'
    if family == 'overlap':
        write(out, items, deflated)
        data = bytearray(Path(out).read_bytes())
        eocd = data.rfind(b'PK\x05\x06')
        cd_offset = struct.unpack('<I', data[eocd + 16:eocd + 20])[0]
        # Point the last central entry at the first entry's local header.
        at, last = cd_offset, None
        while data[at:at + 4] == b'PK\x01\x02':
            last = at
            n, e, c = struct.unpack('<HHH', data[at + 28:at + 34])
            at += 46 + n + e + c
        data[last + 42:last + 46] = struct.pack('<I', 0)
        Path(out).write_bytes(bytes(data))
        return 'last entry aliases the first'
    raise SystemExit(f'unknown family {family}')


def main():
    args = sys.argv[1:]
    bomb_bytes = 1 << 30
    if '--bomb-bytes' in args:
        k = args.index('--bomb-bytes')
        bomb_bytes = int(args[k + 1])
        del args[k:k + 2]
    good, outdir, family, count, seed = args[0], Path(args[1]), args[2], int(args[3]), int(args[4])
    outdir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f'{family}:{seed}')
    made = []
    for n in range(count):
        out = outdir / f'{family}-{seed}-{n}.pt'
        made.append({'file': str(out), 'family': family, 'detail': damage(good, out, family, rng, bomb_bytes)})
    print(json.dumps(made))


if __name__ == '__main__':
    main()
