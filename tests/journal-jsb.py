#!/usr/bin/env python3
"""Edit a journal dumped with `debugfs -R "dump <8> FILE"` (tests only).

  journal-jsb.py FILE rotate N        move the log (starting at s_first) so that
                                      it starts N blocks before the journal's end
  journal-jsb.py FILE incompat BITS   OR BITS into the journal's incompat features

The journal superblock checksum (v2/v3: crc32c, seed ~0, over 1 KiB) is
recomputed.  Written for the journal-* cases from the format's description.
"""
import struct
import sys

TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    TABLE.append(c)


def crc32c(crc, data):
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def main():
    path, op, arg = sys.argv[1], sys.argv[2], int(sys.argv[3], 0)
    j = bytearray(open(path, 'rb').read())
    bs, maxlen, first, _seq, start = struct.unpack('>IIIII', j[12:32])
    if op == 'rotate':
        assert start == first, 'log does not start at s_first'
        n = 16                          # longer than the logs the cases write
        log = [j[(first + i) * bs:(first + i + 1) * bs] for i in range(n)]
        new_start = maxlen - arg
        for i in range(n):
            pos = new_start + i
            if pos >= maxlen:
                pos = pos - maxlen + first
            j[pos * bs:(pos + 1) * bs] = log[i]
        j[28:32] = struct.pack('>I', new_start)
    elif op == 'incompat':
        inc = struct.unpack('>I', j[0x28:0x2C])[0] | arg
        j[0x28:0x2C] = struct.pack('>I', inc)
    else:
        sys.exit('unknown operation ' + op)
    j[0xFC:0x100] = b'\0\0\0\0'
    j[0xFC:0x100] = struct.pack('>I', crc32c(0xFFFFFFFF, bytes(j[:1024])))
    open(path, 'wb').write(j)


main()
