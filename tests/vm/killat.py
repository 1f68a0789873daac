#!/usr/bin/env python3
"""killat.py MARKS COUNT DELAY PID WORKLOAD_PID: SIGKILL PID once the crash
workload (tests/crash/workload.py) has appended COUNT markers to MARKS and
DELAY more seconds have passed (the kill lands while the next operation is
under way).  COUNT 0: once the workload has exited.  Prints how many
markers preceded the kill."""
import os
import signal
import sys
import time

marks, count, delay, pid, wl = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5])


def markers():
    try:
        raw = open(marks, "rb").read()
    except OSError:
        return 0
    n = i = 0
    while i + 13 <= len(raw):      # 'M', 8 zero bytes, u32 length, text
        i += 13 + int.from_bytes(raw[i + 9:i + 13], "little")
        n += 1
    return n


def alive(p):
    try:
        os.kill(p, 0)
    except OSError:
        return False
    # a zombie (the workload exited, its parent has not waited yet) is gone
    try:
        with open("/proc/%d/stat" % p) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


while (count == 0 or markers() < count) and alive(wl):
    time.sleep(0.05)
time.sleep(delay)
os.kill(pid, signal.SIGKILL)
print(markers())
