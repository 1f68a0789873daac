#!/usr/bin/python3
# fake-server.py: a stand-in for `fuse2fs --service` that speaks the sandbox
# protocol (lib/sandbox/proto.h, doc/sandbox-protocol.md) as a hostile
# server would: it answers whatever the test wants, logs every connection
# and every fd it gets, and serves nothing.  Written for tests only: one
# connection at a time, forever, on a SOCK_SEQPACKET socket it creates.
#
#   fake-server.py SOCKET LOG MODE [key=value...]
#   MODE: silent       accept and never answer
#         mount        play along up to the mount, then BYE {error, text}
#         bye-early    BYE {error, text} right after HELLO
#         hangup       hang up right after asking for the mount
#   keys: fstype= data= text= error= delay= (seconds before the last BYE)
import os, socket, struct, sys, time, array

MAGIC = 0x4253474e
HELLO, HELLO_REPLY, ARGS, OPEN_DEVICE, DEVICE, MOUNT, FUSE_DEV, BYE = range(1, 9)

def pad(b):
    return b + b'\0' * (-len(b) % 4)

def packet(typ, payload=b'', error=0):
    return struct.pack('<IIIi', MAGIC, 1 | typ << 16, 16 + len(payload), error) + payload

def strings(*ss):
    bs = [s + b'\0' for s in ss]
    return b''.join(struct.pack('<I', len(b)) for b in bs) + b''.join(pad(b) for b in bs)

def recv(conn, log):
    fds = array.array('i')
    msg, anc, flags, _ = conn.recvmsg(8192, socket.CMSG_SPACE(16))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    if len(msg) < 16:
        return None, list(fds)
    typ = struct.unpack('<I', msg[4:8])[0] >> 16
    return typ, list(fds)

def main():
    path, logpath, mode = sys.argv[1:4]
    opt = dict(a.split('=', 1) for a in sys.argv[4:])
    enc = lambda k, d: opt.get(k, d).encode('latin-1').decode('unicode_escape').encode('latin-1')
    fstype, data, text = enc('fstype', 'fuse.ext4'), enc('data', 'default_permissions'), enc('text', 'no')
    error, delay = int(opt.get('error', '5')), float(opt.get('delay', '0'))
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.bind(path)
    os.chmod(path, 0o666)
    s.listen(8)
    log = open(logpath, 'a', buffering=1)
    while True:
        conn, _ = s.accept()
        log.write('connection\n')
        held = []
        try:
            typ, fds = recv(conn, log)
            if mode == 'silent':
                conn.recv(1)          # until the helper gives up
                continue
            conn.send(packet(HELLO_REPLY, struct.pack('<II', 1, 0)))
            if mode == 'bye-early':
                conn.send(packet(BYE, strings(text)[:4] + b'\0\0\0\0' + pad(text + b'\0'), error))
                conn.recv(1)
                continue
            typ, fds = recv(conn, log)                      # ARGS
            conn.send(packet(OPEN_DEVICE, struct.pack('<II', 1, 0)))
            typ, fds = recv(conn, log)                      # DEVICE
            if fds:
                log.write('device fd\n')
            held += fds
            conn.send(packet(MOUNT, struct.pack('<Q', 0) + strings(fstype, data)))
            if mode == 'hangup':
                pass                  # gone before the helper has mounted
                continue
            typ, fds = recv(conn, log)                      # FUSE_DEV
            if fds:
                log.write('fuse fd\n')
            held += fds
            time.sleep(delay)
            conn.send(packet(BYE, struct.pack('<I', len(text) + 1) + b'\0\0\0\0' + pad(text + b'\0'), error))
            conn.recv(1)
        except OSError as e:
            log.write('error %s\n' % e)
        finally:
            for fd in held:
                os.close(fd)
            conn.close()

main()
