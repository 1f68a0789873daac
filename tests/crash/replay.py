#!/usr/bin/env python3
"""Crash-point replayer for the journaled-write crash tests.

usage: replay.py BASE_IMAGE CRASH_LOG WORKDIR POINTS SEED

BASE_IMAGE is the image before the mount; CRASH_LOG holds the daemon's
writes ('W'), discards ('Z'), flushes ('F') and the workload's markers
('M', tests/crash/workload.py).  A crash point is every write before the
last flush, plus a random subset of the writes issued since (the device
may reorder or drop anything not yet flushed).  At each point:
  - $CRASH_RECOVER (our mount path: replay, orphans) serves it read-write;
  - e2fsck -fn exits 0;
  - every path settled ('S') before the point and not changing since has
    exactly its recorded content; a path gone ('G') does not exist;
  - no file, settled or changing ('I', 'A'), holds bytes it was never
    given: every 8-byte word is zero or the workload's (file id, word
    index) of one file id (ordered mode; blocks freed by a transaction are
    not reused before it commits).
Points: all flushes first (sampled if more than POINTS/2), then random
subsets.  Prints one line per failure, and a summary; exit 1 on failure.
POINTS 0: one point, BASE_IMAGE as it is after the whole log (kill -9 tests).
Env: CRASH_EXPORT=DIR saves some raw crash images (at flushes) for the
kernel and e2fsprogs cross-checks; CRASH_KEEP=1 keeps failing images in WORKDIR; CRASH_RECOVER_ARGS=-f
recovers with force_unclean (to show what a write-through mount leaves).
"""
import hashlib
import os
import random
import shutil
import struct
import subprocess
import sys

base, logpath, work, npoints, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
recover = os.environ.get("CRASH_RECOVER", "recover")
rnd = random.Random(seed)

# ---- parse the log: ops = [(kind, off, data_or_len_or_text)]
ops = []
with open(logpath, "rb") as f:
    raw = f.read()
i = 0
while i < len(raw):
    k = raw[i:i + 1]
    if k == b"F":
        ops.append(("F", 0, None))
        i += 1
        continue
    off, ln = struct.unpack_from("<QI", raw, i + 1)
    i += 13
    if k == b"W":
        ops.append(("W", off, raw[i:i + ln]))
        i += ln
    elif k == b"Z":
        ops.append(("Z", off, ln))
    elif k == b"M":
        ops.append(("M", 0, raw[i:i + ln].decode()))
        i += ln
    else:
        sys.exit("replay.py: bad record %r at %d" % (k, i - 13))

flushes = [n for n, o in enumerate(ops) if o[0] == "F"]
writes = sum(1 for o in ops if o[0] in "WZ")
print("log: %d writes, %d flushes, %d markers" % (writes, len(flushes),
      sum(1 for o in ops if o[0] == "M")))

# ---- crash points: (position in ops, subset of write indices after the last flush)
points = []
half = max(1, npoints // 2)
fl = flushes if len(flushes) <= half else sorted(rnd.sample(flushes, half))
for n in fl:
    points.append((n + 1, None))
segments = []
prev = 0
for n in flushes + [len(ops)]:
    seg = [k for k in range(prev, n) if ops[k][0] in "WZ"]
    if len(seg) > 1:
        segments.append((prev, n, seg))
    prev = n + 1
while len(points) < npoints and segments:
    start, end, seg = rnd.choice(segments)
    cut = rnd.randint(1, len(seg))
    subset = frozenset(k for k in seg[:cut] if rnd.random() < 0.5)
    pos = seg[cut - 1] + 1
    points.append((pos, subset))
points.sort(key=lambda pt: pt[0])
if npoints == 0:
    points = [(len(ops), None)]    # the image as it is, after every marker (kill -9 tests)


def apply(img, op):
    kind, off, d = op
    if kind == "W":
        img[off:off + len(d)] = d
    elif kind == "Z":
        img[off:off + d] = bytes(d)


def expected(pos):
    """Path -> (sha, len, exact) settled, None (gone) or 'busy', from markers before pos."""
    state = {}
    for k in range(pos):
        if ops[k][0] != "M":
            continue
        parts = ops[k][2].split(" ")
        if parts[0] == "S":
            state[parts[1]] = (parts[2], int(parts[3]), True)
        elif parts[0] == "A":
            st = state.get(parts[1])
            if isinstance(st, tuple):
                state[parts[1]] = (st[0], st[1], False)
        elif parts[0] == "G":
            state[parts[1]] = None
        else:
            state[parts[1]] = "busy"
    return state


def foreign(data):
    """Why DATA holds bytes the workload never gave one file, or None.
    Every byte is the workload's pattern byte (file id, word index) of one
    file id, or zero (punched, or zeroed past a truncated size)."""
    n = len(data) // 8
    fid = None
    for w in range(n):
        a, b = struct.unpack_from("<II", data, w * 8)
        if a and b == w:
            fid = a
            break
    for w in range(n):
        word = data[w * 8:w * 8 + 8]
        if not any(word):
            continue
        want = struct.pack("<II", fid or 0, w)
        if fid is None or any(x and x != y for x, y in zip(word, want)):
            a, b = struct.unpack("<II", word)
            return "word %d holds (file %d, word %d)%s" % (
                w, a, b, "" if fid is None else "; the file is file %d" % fid)
    return None


def last_flush_before(pos):
    best = -1
    for n in flushes:
        if n < pos:
            best = n
    return best


os.makedirs(work, exist_ok=True)
img = bytearray(open(base, "rb").read())
applied = 0        # ops[:applied] are in img (applied stops at a flush + 1)
failures = 0
crash = os.path.join(work, "crash.img")
kept = 0


def fail(n, pos, why):
    global failures, kept
    failures += 1
    print("FAIL point %d (op %d/%d): %s" % (n, pos, len(ops), why))
    if os.environ.get("CRASH_KEEP") and kept < 5:
        shutil.copy(crash, os.path.join(work, "fail%d.img" % n))
        kept += 1


for n, (pos, subset) in enumerate(points):
    lf = last_flush_before(pos) + 1 if subset is not None else pos
    while applied < lf:
        apply(img, ops[applied])
        applied += 1
    with open(crash, "wb") as f:
        f.write(img)
        if subset is not None:
            for k in range(lf, pos):
                if k in subset:
                    kind, off, d = ops[k]
                    if kind == "W":
                        f.seek(off)
                        f.write(d)
                    elif kind == "Z":
                        f.seek(off)
                        f.write(bytes(d))
    export = os.environ.get("CRASH_EXPORT")
    if export and subset is None and n % 7 == 3 and len(os.listdir(export)) < 40:
        shutil.copy(crash, os.path.join(export, "p%d.img" % n))
    r = subprocess.run([recover] + os.environ.get("CRASH_RECOVER_ARGS", "").split() + [crash],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail(n, pos, "recover exit %d: %s" % (r.returncode, r.stderr.strip()))
        continue
    r = subprocess.run(["e2fsck", "-fn", crash], capture_output=True, text=True)
    if r.returncode != 0:
        fail(n, pos, "e2fsck -fn exit %d: %s" % (r.returncode,
             " | ".join(r.stdout.strip().splitlines()[1:8])))
        continue
    # the durable contents: markers before the last flush that precedes pos
    want = expected(pos)
    outdir = os.path.join(work, "dump")
    shutil.rmtree(outdir, ignore_errors=True)
    os.mkdir(outdir)
    cmds, names = [], {}
    for idx, (path, sha) in enumerate(sorted(want.items())):
        names[path] = os.path.join(outdir, str(idx))
        cmds.append('dump "/%s" %s' % (path, names[path]))
    cf = os.path.join(work, "cmds")
    with open(cf, "w") as f:
        f.write("\n".join(cmds) + "\n")
    subprocess.run(["debugfs", "-f", cf, crash], capture_output=True)
    for path, out in names.items():
        sha = want[path]
        have = None
        if os.path.exists(out):
            with open(out, "rb") as f:
                data = f.read()
            why = foreign(data)
            if why:
                fail(n, pos, "%s: bytes it was never given: %s" % (path, why))
                break
            if sha == "busy":
                continue
            if sha is not None and not sha[2]:
                data = data[:sha[1]]    # an append under way: the prefix
            have = hashlib.sha256(data).hexdigest()
        if sha == "busy":
            continue
        if sha is None and have is not None:
            fail(n, pos, "%s was removed durably but exists" % path)
            break
        if sha is not None and have != sha[0]:
            fail(n, pos, "%s: fsync'd content %s..., found %s" %
                 (path, sha[0][:12], have[:12] if have else "no file"))
            break

print("crash points: %d checked, %d failed" % (len(points), failures))
sys.exit(1 if failures else 0)
