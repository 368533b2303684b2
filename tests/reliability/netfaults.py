"""Real network faults on loopback: a closed port, a connect that times out, a TLS server with a
self-signed certificate, and a temp folder on a (nearly) full tmpfs."""

import contextlib
import json
import os
import socket
import ssl
import subprocess
import tempfile
import threading

CREDITS_REPLY = json.dumps({"error_code": 0, "request_id": "tls-test", "log_id": "tls-test",
                            "error_detail": {"status_code": 200, "code": "", "code_message": "", "message": ""},
                            "data": [{"balance": 7, "name": "tls"}]}).encode()


def closed_port():
    """A port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ConnectTimeoutListener:
    """A listening socket whose accept queue is full: further SYNs are dropped, connects time out."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.filler = socket.create_connection(("127.0.0.1", self.port), timeout=2)

    def close(self):
        self.filler.close()
        self.sock.close()


def make_self_signed(directory):
    """A self-signed certificate for 127.0.0.1/localhost (openssl); returns (cert, key) paths."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", key, "-out", cert], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


class TlsServer:
    """HTTPS on 127.0.0.1 with a self-signed certificate. Counts TCP connections and completed
    handshakes; a client that completes one gets a fixed AILab credits reply (and the request head is
    kept, to prove whether a key was ever sent)."""

    def __init__(self, directory):
        self.cert, self.key = make_self_signed(directory)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(self.cert, self.key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = "https://127.0.0.1:%d" % self.port
        self.connections = 0
        self.handshakes = 0
        self.heads = []
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def reset(self):
        self.connections = self.handshakes = 0
        self.heads = []

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        conn.settimeout(5)
        try:
            with self.ctx.wrap_socket(conn, server_side=True) as tls:
                self.handshakes += 1
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                self.heads.append(head)
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                            b"Content-Length: %d\r\n\r\n" % len(CREDITS_REPLY) + CREDITS_REPLY)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def close(self):
        self._stop = True
        self.sock.close()


@contextlib.contextmanager
def full_tmpfs(free_kib=8, size_kib=256):
    """A tmpfs of ``size_kib`` filled so that about ``free_kib`` KiB are left (root only).
    Yields its path; unmounted afterwards."""
    mnt = tempfile.mkdtemp(prefix="sb-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dk,mode=1777" % size_kib, "tmpfs", mnt], check=True)
    try:
        with open(os.path.join(mnt, ".filler"), "wb") as f:
            f.write(b"\0" * ((size_kib - free_kib) * 1024))
        yield mnt
    finally:
        subprocess.run(["umount", "-l", mnt], check=False)
        os.rmdir(mnt)


def can_mount():
    return os.name == "posix" and os.geteuid() == 0
