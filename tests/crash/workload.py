#!/usr/bin/env python3
"""Crash-test workload: runs on a mount of tests/crash/fuse2fs-crashrec.

usage: workload.py MOUNTPOINT LOG VARIANT [PREFIX]   (VARIANT: normal | full | huge)
huge: only a file spanning many block groups, truncated and then deleted:
verbs larger than one transaction with FUSE2FS_CRASH_JCAP (journal-crash-split).
Everything happens under MOUNTPOINT/PREFIX (created) when PREFIX is given.

Appends markers to LOG (the daemon's crash log, FUSE2FS_CRASH_LOG) in the
same sequence as the daemon's writes, each after the call it describes
returned:
  S path sha256 len  path is settled: fsync'd, this content (read back)
  A path          an append to path is under way: the settled content
                  stays a prefix
  I path          path is about to change (rename, unlink, truncate, ...)
  G path          path is gone (unlink / rename durable)
Record layout as the recorder's: 'M', 8 zero bytes, u32 length, text.
File data is self-describing: each 8-byte word is (file id, word index).
"""
import errno
import hashlib
import os
import random
import struct
import subprocess
import sys

mnt, log, variant = sys.argv[1], sys.argv[2], sys.argv[3]
prefix = sys.argv[4] + "/" if len(sys.argv) > 4 else ""
if prefix:
    os.mkdir(os.path.join(mnt, prefix))
    mnt = os.path.join(mnt, prefix)
rnd = random.Random(1234)
next_id = [1]


def mark(text):
    kind, rest = text.split(" ", 1)
    b = ("%s %s%s" % (kind, prefix, rest)).encode()
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"M" + bytes(8) + struct.pack("<I", len(b)) + b)
    os.close(fd)


def pattern(fid, off, n):
    first = off // 8
    words = (n + 7) // 8 + 1
    raw = b"".join(struct.pack("<II", fid, first + i) for i in range(words))
    skip = off % 8
    return raw[skip:skip + n]


def p(rel):
    return os.path.join(mnt, rel)


content = {}    # path -> the bytes the workload gave it


def settle(rel):
    """Marks REL settled with the content the workload gave it; the mount must agree."""
    want = content[rel]
    with open(p(rel), "rb") as f:
        data = f.read()
    if data != want:
        sys.exit("workload: %s reads back %d bytes (sha %s), not the %d written" %
                 (rel, len(data), hashlib.sha256(data).hexdigest()[:12], len(want)))
    mark("S %s %s %d" % (rel, hashlib.sha256(want).hexdigest(), len(want)))


def fsync_dir(rel):
    fd = os.open(p(rel), os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(fd)
    os.close(fd)


def write_file(rel, size, fsync=True):
    fid = next_id[0]
    next_id[0] += 1
    fd = os.open(p(rel), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    off = 0
    try:
        while off < size:
            n = min(65536, size - off)
            off += os.write(fd, pattern(fid, off, n))
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
    if fsync:
        os.fsync(fd)
    os.close(fd)
    content[rel] = pattern(fid, 0, off)
    return fid


def tree(top, nfiles):
    os.mkdir(p(top))
    dirs = [top]
    for d in range(4):
        dirs.append("%s/d%d" % (top, d))
        os.mkdir(p(dirs[-1]))
    fsync_dir(top)
    files = []
    for i in range(nfiles):
        rel = "%s/f%d" % (rnd.choice(dirs), i)
        size = rnd.choice([0, 100, 4096, 5000, 20000, 70000, 200000])
        write_file(rel, size)
        fsync_dir(os.path.dirname(rel))
        settle(rel)
        files.append(rel)
    return files


def appends(rel, n):
    fid = next_id[0]
    next_id[0] += 1
    fd = os.open(p(rel), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    fsync_dir(".")
    content[rel] = b""
    for i in range(n):
        mark("A " + rel)
        chunk = pattern(fid, i * 4096, 4096)
        os.write(fd, chunk)
        content[rel] += chunk
        os.fsync(fd)
        settle(rel)
    os.close(fd)


def gone(rel):
    mark("G " + rel)


def huge():
    """Files spanning many groups: truncate and unlink free more blocks
    than one (test-sized) transaction carries."""
    st = os.statvfs(mnt)
    size = st.f_bavail * st.f_frsize // 3
    write_file("keep", 5000)
    fsync_dir(".")
    settle("keep")
    write_file("huge", size)
    fsync_dir(".")
    settle("huge")
    mark("I huge")
    os.truncate(p("huge"), size // 5)
    content["huge"] = content["huge"][:size // 5]
    fd = os.open(p("huge"), os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    settle("huge")
    write_file("huge2", size)
    fsync_dir(".")
    settle("huge2")
    mark("I huge2")
    os.unlink(p("huge2"))
    fsync_dir(".")
    gone("huge2")
    mark("I huge")
    os.unlink(p("huge"))
    fsync_dir(".")
    gone("huge")
    write_file("after", 7000)
    fsync_dir(".")
    settle("after")


def main():
    if variant == "huge":
        huge()
        return
    files = tree("t", 30 if variant != "full" else 12)
    appends("app", 25)
    # renames, some across directories, some replacing a file
    for i in range(6):
        src = files.pop(rnd.randrange(len(files)))
        dst = "t/r%d" % i if i % 3 else files[0]
        mark("I " + src)
        mark("I " + dst)
        os.rename(p(src), p(dst))
        content[dst] = content.pop(src)
        fsync_dir(os.path.dirname(dst))
        fsync_dir(os.path.dirname(src))
        gone(src)
        settle(dst)
        if dst not in files:
            files.append(dst)
    # unlink of an open file, written after the unlink
    ufid = write_file("u", 30000)
    fsync_dir(".")
    settle("u")
    fd = os.open(p("u"), os.O_RDWR)
    mark("I u")
    os.unlink(p("u"))
    os.write(fd, pattern(ufid, 0, 50000))     # its own bytes: self-describing
    os.fsync(fd)
    fsync_dir(".")
    gone("u")
    os.close(fd)
    # truncate and punch
    for rel in files[:6]:
        size = os.path.getsize(p(rel))
        mark("I " + rel)
        if rnd.random() < 0.5:
            os.truncate(p(rel), size // 3)
            content[rel] = content[rel][:size // 3]
        elif size > 8192:
            subprocess.run(["fallocate", "-p", "-o", "4096", "-l", str(size // 2), p(rel)],
                           check=True)
            end = min(size, 4096 + size // 2)
            c = content[rel]
            content[rel] = c[:4096] + bytes(end - 4096) + c[end:]
        fd = os.open(p(rel), os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        settle(rel)
    # a truncate, then at once a new file of the same size: until the
    # truncate commits, its freed blocks must not take the new file's bytes
    # (the old extent still points at them in the committed state)
    victim = max(files[12:20] or files, key=lambda r: len(content[r]))
    mark("I " + victim)
    size = len(content[victim])
    os.truncate(p(victim), 0)
    content[victim] = b""
    write_file("reuse", size, fsync=False)
    for rel in (victim, "reuse"):
        fd = os.open(p(rel), os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    fsync_dir(".")
    settle(victim)
    settle("reuse")
    # xattrs: in the inode and in an xattr block
    for rel in files[6:12]:
        os.setxattr(p(rel), "user.small", b"v" * 40)
        os.setxattr(p(rel), "user.big", bytes(rnd.randrange(256) for _ in range(600)))
        fd = os.open(p(rel), os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    if variant == "full":
        # nearly full: a file up to ENOSPC, then deleted, then small files again
        st = os.statvfs(mnt)
        write_file("big", st.f_bavail * st.f_frsize + (1 << 20))
        fsync_dir(".")
        settle("big")
        for i in range(5):
            try:
                write_file("small%d" % i, 9000)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
        mark("I big")
        os.unlink(p("big"))
        fsync_dir(".")
        gone("big")
        for i in range(5):
            write_file("after%d" % i, 30000)
            settle("after%d" % i)
    # remove part of the tree
    for rel in files[12:20]:
        mark("I " + rel)
        os.unlink(p(rel))
        fsync_dir(os.path.dirname(rel))
        gone(rel)
    # a second tree without fsyncs: the commit timer and unmount commit it
    for i in range(10):
        write_file("t/late%d" % i, 3000, fsync=False)


main()
