#!/usr/bin/python3
"""tests/mcp/handover.py SOCKET LINE - what `mimir-helper proxy` sends the
proxy server (include/mimir/proxywire.h), by hand: connect to SOCKET, send
LINE with this process's standard input, output and error (SCM_RIGHTS),
then print on standard error every line the server sends, and "closed"
when it closes the connection (a reset or a broken pipe counts: the
server may close with the request unread).  Exit status 0, or 1 when the connection failed."""
import socket
import sys

sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.settimeout(10)
try:
    sock.connect(sys.argv[1])
except OSError as e:
    print(f"cannot connect: {e}", file=sys.stderr)
    sys.exit(1)
buf = b""
try:
    socket.send_fds(sock, [sys.argv[2].encode() + b"\n"], [0, 1, 2])
except (BrokenPipeError, ConnectionResetError):
    pass  # the server closed before reading: refused, which is what we report
while True:
    try:
        got = sock.recv(4096)
    except ConnectionResetError:
        got = b""
    if not got:
        break
    buf += got
for line in buf.decode(errors="replace").splitlines():
    print(line, file=sys.stderr)
print("closed", file=sys.stderr)
