# A Linux TCP peer for usernet's interop tests. Modes:
#   sink PORT            accept one connection, read to EOF, reply "<bytes> <sha256>\n", close
#   source PORT N        accept one connection, send N pseudo-random bytes (seeded), close
#   echo PORT            accept connections, echo until EOF, half-close, loop
#   connect-send HOST PORT N     connect, send N bytes, half-close, print the reply line
#   connect-recv HOST PORT       connect, read to EOF, print "<bytes> <sha256>"
#   reset PORT           accept one connection, read a line, then abort with RST (SO_LINGER 0)
import hashlib, socket, struct, sys

def data(n, seed=7):
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:n])

def serve(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(16)
    print("ready", flush=True)
    return s

mode = sys.argv[1]
if mode == "sink":
    s = serve(int(sys.argv[2]))
    c, _ = s.accept()
    h, n = hashlib.sha256(), 0
    while True:
        b = c.recv(1 << 20)
        if not b: break
        h.update(b); n += len(b)
    c.sendall(f"{n} {h.hexdigest()}\n".encode())
    c.close()
elif mode == "source":
    s = serve(int(sys.argv[2]))
    c, _ = s.accept()
    c.sendall(data(int(sys.argv[3])))
    c.close()
elif mode == "echo":
    s = serve(int(sys.argv[2]))
    while True:
        c, _ = s.accept()
        while True:
            b = c.recv(1 << 20)
            if not b: break
            c.sendall(b)
        c.shutdown(socket.SHUT_WR)
        c.close()
elif mode == "connect-send":
    c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=120)
    c.sendall(data(int(sys.argv[4])))
    c.shutdown(socket.SHUT_WR)
    line = b""
    while True:
        b = c.recv(4096)
        if not b: break
        line += b
    print(line.decode().strip(), flush=True)
elif mode == "connect-recv":
    c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=120)
    h, n = hashlib.sha256(), 0
    while True:
        b = c.recv(1 << 20)
        if not b: break
        h.update(b); n += len(b)
    print(f"{n} {h.hexdigest()}", flush=True)
elif mode == "reset":
    s = serve(int(sys.argv[2]))
    c, _ = s.accept()
    c.recv(100)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
elif mode == "data-sha":
    print(hashlib.sha256(data(int(sys.argv[2]))).hexdigest())
