#!/usr/bin/python3
# flip.py A B SECONDS: exchange the names A and B (renameat2 RENAME_EXCHANGE,
# atomic) as fast as possible for SECONDS: the attacker's half of the
# mountpoint races in tests/cases/safe-setuid.
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
a, b, end = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2]), time.time() + float(sys.argv[3])
n = 0
while time.time() < end:
    if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0:
        sys.exit('renameat2: %s' % os.strerror(ctypes.get_errno()))
    n += 1
print(n)
