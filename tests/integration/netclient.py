#!/usr/bin/env python3
"""Socket clients for the daemon's reliability tests, each printing one result line.

  netclient.py many HOST PORT N          N concurrent keep-alive clients, one request each
  netclient.py halfclose HOST PORT PATH  request, shutdown(SHUT_WR), read the whole answer
  netclient.py noread HOST PORT N SECS   N clients pipelining requests, never reading
  netclient.py idle HOST PORT SECS       one idle connection: when did the daemon close it
  netclient.py admin SOCKET LINE         one raw admin line, print the answer line
  netclient.py late HOST PORT N SECS     N concurrent clients that connect, wait SECS,
                                         then send one request each
  netclient.py rst HOST PORT             one request sent, then the connection reset
"""
import socket
import sys
import time

REQ = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head.split(b"\r\n")[0]


def many(host, port, n):
    socks, ok = [], 0
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=20)
        socks.append(s)
    for s in socks:
        try:
            s.sendall(REQ)
        except OSError:
            pass
    for s in socks:
        try:
            status = read_response(s)
        except OSError:
            status = None
        ok += status is not None and b" 200 " in status
    print(f"{ok} of {n} answered 200 with {n} connections open")


def late(host, port, n, secs):
    socks = [socket.create_connection((host, port), timeout=20) for _ in range(n)]
    time.sleep(secs)
    ok = 0
    for s in socks:
        try:
            s.sendall(REQ)
            status = read_response(s)
        except OSError:
            status = None
        ok += status is not None and b" 200 " in status
    print(f"{ok} of {n} answered 200 after waiting {secs} s to send")


def rst(host, port):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(REQ)
    time.sleep(0.1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
    print("reset")


def halfclose(host, port, path):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
    whole = "complete" if length and len(body) == length[0] else f"{len(body)} of {length} bytes"
    print(head.split(b"\r\n")[0].decode(), whole)


def noread(host, port, n, secs):
    socks = [socket.create_connection((host, port), timeout=5) for _ in range(n)]
    for s in socks:
        s.setblocking(False)
    sent = 0
    end = time.time() + secs
    burst = REQ * 64
    while time.time() < end:
        for s in socks:
            try:
                sent += s.send(burst)
            except BlockingIOError:
                pass
        time.sleep(0.01)
    print(f"sent {sent} bytes on {n} connections without reading")
    sys.stdout.flush()
    time.sleep(float(sys.argv[6]) if len(sys.argv) > 6 else 0)


def idle(host, port, secs):
    s = socket.create_connection((host, port), timeout=secs + 5)
    start = time.time()
    try:
        closed = s.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        closed = True
    print(f"closed={closed} after {time.time() - start:.0f}s")


def admin(path, line):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(line.encode() + b"\n")
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    print(data.decode().strip())


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "many":
        many(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "halfclose":
        halfclose(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif cmd == "noread":
        noread(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    elif cmd == "idle":
        idle(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "late":
        late(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    elif cmd == "rst":
        rst(sys.argv[2], int(sys.argv[3]))
    elif cmd == "admin":
        admin(sys.argv[2], sys.argv[3])
