"""An independent reader of TensorBoard event files, written from the
published definitions rather than from this package's writer:

- the TFRecord framing of TensorFlow's record_writer.cc: uint64 length
  (little-endian), masked CRC-32C of the length bytes, the data, masked
  CRC-32C of the data; mask(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8;
- protobuf's wire format (varint keys: field number << 3 | wire type);
- the field numbers of tensorboard/compat/proto/event.proto (Event:
  wall_time 1, step 2, file_version 3, summary 5) and summary.proto
  (Summary.value 1; Value: tag 1, simple_value 2, histo 5, node_name 7;
  HistogramProto: min 1, max 2, num 3, sum 4, sum_squares 5,
  bucket_limit 6, bucket 7, both packed).

CRC-32C comes from crcmod's predefined 'crc-32c' (checked here against the
RFC 3720 test vector). Prints the events of the files named on argv as JSON;
exits non-zero on any framing or checksum error."""
import json
import struct
import sys

import crcmod.predefined

crc32c = crcmod.predefined.mkCrcFun("crc-32c")
assert crc32c(b"123456789") == 0xE3069283  # RFC 3720, B.4


def masked(data):
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def records(blob):
    pos = 0
    while pos < len(blob):
        header = blob[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", blob[pos + 8:pos + 12])
        if length_crc != masked(header):
            raise SystemExit(f"bad length CRC at byte {pos}")
        data = blob[pos + 12:pos + 12 + length]
        (data_crc,) = struct.unpack("<I", blob[pos + 12 + length:pos + 16 + length])
        if len(data) != length or data_crc != masked(data):
            raise SystemExit(f"bad data CRC at byte {pos}")
        yield data
        pos += 16 + length


def varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


def fields(buf):
    """(field number, wire type, value) for every field of a message."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 1:
            value = buf[pos:pos + 8]
            pos += 8
        elif wire == 2:
            n, pos = varint(buf, pos)
            value = buf[pos:pos + n]
            pos += n
        elif wire == 5:
            value = buf[pos:pos + 4]
            pos += 4
        else:
            raise SystemExit(f"unexpected wire type {wire}")
        yield number, wire, value


def doubles(wire, value):
    return list(struct.unpack(f"<{len(value) // 8}d", value)) if wire == 2 else [struct.unpack("<d", value)[0]]


def histogram(buf):
    names = {1: "min", 2: "max", 3: "num", 4: "sum", 5: "sum_squares"}
    h = {"bucket_limit": [], "bucket": []}
    for number, wire, value in fields(buf):
        if number in names:
            h[names[number]] = struct.unpack("<d", value)[0]
        elif number == 6:
            h["bucket_limit"] += doubles(wire, value)
        elif number == 7:
            h["bucket"] += doubles(wire, value)
    return h


def summary_value(buf):
    v = {}
    for number, wire, value in fields(buf):
        if number == 1:
            v["tag"] = value.decode("utf-8")
        elif number == 2:
            v["simple_value"] = struct.unpack("<f", value)[0]
        elif number == 5:
            v["histo"] = histogram(value)
    return v


def event(buf):
    e = {"wall_time": 0.0, "step": 0, "values": []}
    for number, wire, value in fields(buf):
        if number == 1:
            e["wall_time"] = struct.unpack("<d", value)[0]
        elif number == 2:
            e["step"] = value
        elif number == 3:
            e["file_version"] = value.decode("utf-8")
        elif number == 5:
            e["values"] += [summary_value(v) for n, _, v in fields(value) if n == 1]
    return e


out = []
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        out.append({"file": path, "events": [event(r) for r in records(f.read())]})
print(json.dumps(out))
