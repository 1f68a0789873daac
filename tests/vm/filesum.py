#!/usr/bin/env python3
"""Read back every regular file of a directory in one process (tests/vm/io.sh;
under TCG, one process per file and per tool costs more than the reads).

  filesum.py md5 DIR          "name md5" per file (buffered reads)
  filesum.py check DIR BEFORE OUTSUMS PREFIX
      First SEEK_DATA/SEEK_HOLE maps of every file (nothing read yet, so
      unwritten extents are holes), then per file a buffered and an O_DIRECT
      read.  Prints "  name size=N md5=M seek: DATA@0 HOLE@N ..." lines;
      appends "PREFIX/name size md5" to OUTSUMS.  A buffered md5 that differs
      from BEFORE (the md5 file made before the page cache was dropped) or
      from the O_DIRECT read is a failure ("FAIL: ..." on stderr, exit 1).
"""
import errno
import hashlib
import mmap
import os
import sys

CHUNK = 1 << 20


def files(d):
    return sorted(f for f in os.listdir(d) if os.path.isfile(os.path.join(d, f)))


def md5_buffered(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        while True:
            b = f.read(CHUNK)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def md5_direct(path):
    h = hashlib.md5()
    buf = mmap.mmap(-1, CHUNK)  # page-aligned, as O_DIRECT wants
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        while True:
            n = os.readv(fd, [buf])
            if n <= 0:
                break
            h.update(buf[:n])
            if n < CHUNK:
                # a short read is EOF for a regular file; check with one more read
                continue
    finally:
        os.close(fd)
    return h.hexdigest()


def seek_map(path):
    out = []
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        pos = 0
        while pos < size:
            try:
                data = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError as e:
                if e.errno == errno.ENXIO:
                    data = size
                else:
                    raise
            if data > pos:
                out.append("HOLE@%d" % pos)
            if data >= size:
                break
            hole = os.lseek(fd, data, os.SEEK_HOLE)
            out.append("DATA@%d" % data)
            pos = hole
        if pos >= size and (not out or not out[-1].startswith("HOLE")):
            out.append("HOLE@%d" % size)
    finally:
        os.close(fd)
    return " ".join(out)


def main():
    mode, d = sys.argv[1], sys.argv[2]
    if mode == "md5":
        for f in files(d):
            print(f, md5_buffered(os.path.join(d, f)))
        return 0
    before = dict(line.split() for line in open(sys.argv[3]))
    sums, prefix = sys.argv[4], sys.argv[5]
    fails = 0
    names = files(d)
    seeks = {f: seek_map(os.path.join(d, f)) for f in names}
    with open(sums, "a") as out:
        for f in names:
            p = os.path.join(d, f)
            size = os.stat(p).st_size
            s = md5_buffered(p)
            ds = md5_direct(p)
            if s != before.get(f):
                print("FAIL: io: %s: content changed when the page cache was dropped: %s, was %s "
                      "(what was written is not what is on disk)" % (f, s, before.get(f)), file=sys.stderr)
                fails += 1
            if ds != s:
                print("FAIL: io: %s: O_DIRECT read gives %s, buffered read %s" % (f, ds, s), file=sys.stderr)
                fails += 1
            print("  %s size=%d md5=%s seek: %s" % (f, size, s, seeks[f]))
            out.write("%s/%s %d %s\n" % (prefix, f, size, s))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
