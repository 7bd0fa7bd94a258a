#!/usr/bin/env python3
"""hold_conns.py HOST PORT COUNT HOLD_SECONDS

Opens COUNT TCP connections to HOST:PORT, makes one keep-alive HTTP request
on each (so a proxy that connects to its backend lazily, on the first byte,
has both legs of every connection set up), prints "ready OPEN failed FAILED"
and then holds them all idle until SIGTERM or HOLD_SECONDS, whichever comes
first. bench/proxy.sh reads the proxies' memory while the connections are
held.
"""
import resource
import signal
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
TIMEOUT = 5.0  # seconds per connect and per reply: a stuck proxy cannot hang the run


def read_reply(sock):
    """Reads one HTTP response with a Content-Length body; raises on EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("connection closed before the reply")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("connection closed in the body")
        body += chunk


def raise_fd_limit(count):
    """COUNT sockets plus a margin must fit under RLIMIT_NOFILE (often 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = count + 64
    if soft != resource.RLIM_INFINITY and soft < want:
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def main():
    if len(sys.argv) != 5:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    host, port = sys.argv[1], int(sys.argv[2])
    count, hold = int(sys.argv[3]), float(sys.argv[4])
    raise_fd_limit(count)
    # Exit cleanly on SIGTERM: the kernel closes the sockets.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    socks, failed = [], 0
    for _ in range(count):
        sock = None
        try:
            sock = socket.create_connection((host, port), timeout=TIMEOUT)
            sock.sendall(REQUEST)
            read_reply(sock)
            socks.append(sock)
        except OSError:
            failed += 1
            if sock is not None:
                sock.close()
    print(f"ready {len(socks)} failed {failed}", flush=True)
    time.sleep(hold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
