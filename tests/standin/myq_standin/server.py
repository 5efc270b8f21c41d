# SPDX-License-Identifier: Apache-2.0
"""Sockets of the stand-in: the HTTPS listener (threaded, HTTP/1.1 keep-alive, bodies
bounded to 1 MiB), the optional plain-HTTP admin listener, and the App that owns them
and turns faults into socket behaviour.

Design note: a "down" server must refuse connections, so the HTTPS listener really
closes its listening socket (and every open connection) and binds the same port again
when it comes back. TLS is wrapped per connection at accept time with the context in
force then, which is how bad_cert affects new connections only. The TLS handshake runs
in the connection's own thread, so a stalled client cannot block accept."""
import datetime
import ipaddress
import json
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from urllib.parse import urlsplit

from . import admin, api
from .certs import server_context
from .faults import validate as validate_fault

MAX_BODY = 1 << 20
DRAIN_MAX = 8 << 20
IDLE_TIMEOUT = 60
HANDSHAKE_TIMEOUT = 10
REDACTED = ("authorization", "cookie", "proxy-authorization")


def normal_address(addr):
    """The canonical text of an IP address, IPv4-mapped IPv6 unwrapped (ValueError if
    it is not one), so --admin-from matches however the peer's address is written."""
    a = ipaddress.ip_address(addr.split("%")[0])
    if a.version == 6 and a.ipv4_mapped is not None:
        a = a.ipv4_mapped
    return str(a)


def is_loopback(addr):
    try:
        return ipaddress.ip_address(addr.split("%")[0]).is_loopback
    except ValueError:
        return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "myq-standin/1"
    timeout = IDLE_TIMEOUT

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(HANDSHAKE_TIMEOUT)
            self.request.do_handshake()
        super().setup()

    def version_string(self):
        return self.server_version

    @property
    def app(self):
        return self.server.listener.app

    def log_message(self, fmt, *args):
        if self.app.verbose:
            sys.stderr.write("myq-standin: %s %s\n" % (self.address_string(), fmt % args))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = lambda self: self.dispatch()

    # -- reading and answering --------------------------------------------------------
    def read_body(self):
        """The body, or None after answering 411/413/400 (connection then closed)."""
        if self.headers.get("Transfer-Encoding"):
            self.reply(411, {"error": "length_required", "error_description": "send Content-Length"}, close=True)
            return None
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        if not cl.strip().isdigit():
            self.reply(400, {"error": "invalid_request", "error_description": "bad Content-Length"}, close=True)
            return None
        n = int(cl)
        if n > MAX_BODY:
            if n <= DRAIN_MAX:  # read it, so that a client still sending gets the answer
                left = n
                while left > 0:
                    chunk = self.rfile.read(min(left, 1 << 16))
                    if not chunk:
                        break
                    left -= len(chunk)
            self.reply(413, {"error": "payload_too_large", "error_description": "at most 1 MiB"}, close=True)
            return None
        return self.rfile.read(n)

    def reply(self, status, obj, headers=None, close=False):
        data = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        rid = self.headers.get("X-Request-Id") if self.headers else None
        if rid and api.REQUEST_ID_RE.match(rid):
            self.send_header("X-Request-Id", rid)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    # -- routing ------------------------------------------------------------------------
    def dispatch(self):
        url = urlsplit(self.path)
        path = url.path
        if path.startswith("/_standin/"):
            peer = self.client_address[0]
            if not is_loopback(peer) and normal_address(peer) not in self.app.admin_from:
                return self.reply(403, {"error": "forbidden"}, close=True)
            body = self.read_body()
            if body is not None:
                admin.handle(self.app, self, path, body)
            return None
        if self.server.listener.admin or not path.startswith("/api/"):
            if self.read_body() is not None:
                self.reply(404, {"error": "not_found"})
            return None
        return self.api_request(path, url.query)

    def api_request(self, path, query):
        app = self.app
        endpoint = api.endpoint_name(self.command, path)
        entry = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
                 "method": self.command, "path": self.path, "peer": self.client_address[0],
                 "headers": {k: ("<redacted>" if k.lower() in REDACTED else v) for k, v in self.headers.items()},
                 "status": None}
        app.store.note_request(endpoint, entry)
        body = self.read_body()
        if body is None:
            return
        gen, fault = app.faults.snapshot()
        mode = fault["mode"]
        if mode == "blackhole":
            # Accepted and read, never answered: the connection is dropped when the fault
            # changes or after hold_seconds, without a response.
            app.faults.wait_change(gen, fault["hold_seconds"])
            self.close_connection = True
            return
        if mode == "slow":
            app.faults.wait_change(gen, fault["delay_ms"] / 1000.0)
        if mode == "error":
            status, obj, hdrs = fault["status"], {"error": "unavailable" if fault["status"] == 503 else
                                                  "server_error", "error_description": "stand-in fault"}, {}
        elif mode == "ratelimit":
            status, obj, hdrs = 429, {"error": "rate_limited"}, {"Retry-After": str(fault["retry_after"])}
        else:
            req = api.Request(self.command, path, query, self.headers, body)
            status, obj, hdrs = api.handle(app, req)
        entry["status"] = status
        app.store.note_status(endpoint, status)
        self.reply(status, obj, hdrs)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, listener):
        self.listener = listener
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, Handler)

    def server_bind(self):
        # HTTPServer.server_bind asks DNS for the host's FQDN; a loopback test needs none.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.listener.tls:
            sock = self.listener.app.tls_context().wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False)
        self.listener.track(sock)
        return sock, addr

    def shutdown_request(self, request):
        self.listener.untrack(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if self.listener.app.verbose or not isinstance(exc, (OSError, ssl.SSLError, ValueError)):
            super().handle_error(request, client_address)


class Listener:
    """One listening port that can be taken down and brought back on the same port."""

    def __init__(self, app, host, port, tls, admin_only=False):
        self.app = app
        self.host = host
        self.port = port
        self.tls = tls
        self.admin = admin_only
        self.lock = threading.RLock()
        self.server = None
        self.thread = None
        self.conns = set()
        self.conns_lock = threading.Lock()

    @property
    def running(self):
        return self.server is not None

    def track(self, sock):
        with self.conns_lock:
            self.conns.add(sock)

    def untrack(self, sock):
        with self.conns_lock:
            self.conns.discard(sock)

    def start(self):
        with self.lock:
            if self.server is not None:
                return
            self.server = _Server((self.host, self.port), self)
            self.port = self.server.server_address[1]
            self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                           name=f"listen-{self.port}", daemon=True)
            self.thread.start()

    def stop(self, keep=None):
        """Closes the listening socket and every connection but `keep` (the admin
        request that asked for it, which closes after its answer)."""
        with self.lock:
            if self.server is None:
                return
            self.server.shutdown()
            self.server.server_close()
            self.server = None
            with self.conns_lock:
                conns = [c for c in self.conns if c is not keep]
            for c in conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class App:
    def __init__(self, store, hasher, faults, tls_paths, verbose=False):
        self.store = store
        self.hasher = hasher
        self.faults = faults
        self.tls_paths = tls_paths
        self.verbose = verbose
        self.good_ctx = server_context(tls_paths["cert"], tls_paths["key"])
        self.rogue_ctx = server_context(tls_paths["rogue_cert"], tls_paths["rogue_key"])
        self.main = None
        self.admin_listener = None
        self.queue = None
        self.admin_from = set()  # addresses besides loopback that may use /_standin/
        self.fault_lock = threading.Lock()
        self.flap_thread = None
        self.timer = None

    def tls_context(self):
        return self.rogue_ctx if self.faults.active("bad_cert") else self.good_ctx

    def fault_active(self, mode):
        return self.faults.active(mode)

    def set_fault(self, spec, keep=None, expected_gen=None):
        """Applies a validated fault; None, or the reason it cannot be applied."""
        with self.fault_lock:
            if expected_gen is not None and self.faults.gen != expected_gen:
                return None  # an expiry timer for a fault already replaced
            if spec["mode"] == "down" and not spec.get("seconds") and self.admin_listener is None:
                return "down without seconds needs --admin-listen to be lifted"
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            gen = self.faults.set(spec)
            if self.flap_thread is not None:
                self.flap_thread.join()
                self.flap_thread = None
            mode = spec["mode"]
            if mode == "down":
                self.main.stop(keep=keep)
            elif mode == "flap":
                self.flap_thread = threading.Thread(target=self._flap, args=(gen, spec, keep), daemon=True)
                self.flap_thread.start()
            else:
                self.main.start()
            if spec.get("seconds"):
                self.timer = threading.Timer(spec["seconds"], self.set_fault,
                                             args=(validate_fault({"mode": "none"}),),
                                             kwargs={"expected_gen": gen})
                self.timer.daemon = True
                self.timer.start()
            return None

    def _flap(self, gen, spec, keep):
        while True:
            self.main.stop(keep=keep)
            keep = None
            self.faults.phase = "down"
            if self.faults.wait_change(gen, spec["down_ms"] / 1000.0):
                return
            self.main.start()
            self.faults.phase = "up"
            if self.faults.wait_change(gen, spec["up_ms"] / 1000.0):
                return

    def shutdown(self):
        with self.fault_lock:
            if self.timer is not None:
                self.timer.cancel()
        self.faults.set({"mode": "none"})
        if self.flap_thread is not None:
            self.flap_thread.join()
        for lst in (self.main, self.admin_listener):
            if lst is not None:
                lst.stop()
        if self.queue is not None:
            self.queue.stop()
        self.hasher.close()

