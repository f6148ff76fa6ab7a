"""A small client for scripts that drive a Tongban server over HTTP: start and kill it, a
stand-in SMS gateway (which also supplies sign-in codes), JSON and multipart calls, and one
whole application through the JSON API. Standard library only."""

import http.cookiejar
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

ITEM = "1305340101001"  # 个体工商户设立登记
PHONE = "13800000001"  # the demo resident
ANSWERS = {
    "operator_name": "李明",
    "id_number": "11010519491231002X",
    "phone": PHONE,
    "scope": "针纺织品销售；服装服饰零售",
    "premises_type": "实体门店",
    "premises": "清河县城东村羊绒街 18 号",
    "form": "个人经营",
}
MATERIALS = [
    "个体工商户登记（备案）申请书",
    "经营者居民身份证",
    "经营场所使用证明或《住所（经营场所）申报承诺书》",
]


class Gateway:
    """An operator's SMS gateway as far as we need one: deduplicates by idempotency key."""

    def __init__(self):
        self.lock = threading.Lock()
        self.delivered = {}  # key -> text
        self.resent = 0
        self.unkeyed = []  # sign-in codes carry no key
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            # Keeps connections open, as operators' gateways do for their clients, and
            # sends each answer at once rather than waiting to fill a packet.
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                msg = json.loads(body)
                key = self.headers.get("idempotency-key")
                with gateway.lock:
                    if key is None:
                        gateway.unkeyed.append(msg["text"])
                    elif key in gateway.delivered:
                        gateway.resent += 1
                    else:
                        gateway.delivered[key] = msg["text"]
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def last_code(self):
        with self.lock:
            for text in reversed(self.unkeyed):
                m = re.search(r"\b(\d{6})\b", text)
                if m:
                    return m.group(1)
        return None


class Sink:
    """A stand-in for the operator's SMS gateway that answers every message at once
    (`tongban-loadgen sink`): for benchmarks, where the Python gateway would take processor
    time from the server it measures. It keeps nothing, so sign-in codes need `Gateway`."""

    def __init__(self, root):
        binary = os.path.join(root, "target/release/tongban-loadgen")
        if not os.path.exists(binary):
            raise SystemExit(f"{binary} not found (cargo build --release -p tongban-loadgen)")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen([binary, "--addr", f"127.0.0.1:{self.port}", "sink"])
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("tongban client: the sink did not start")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/send"

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Server:
    def __init__(self, binary, data_dir, gateway_url, env=None):
        self.binary = os.path.abspath(binary)
        self.data_dir = data_dir
        # The server takes TONGBAN_* variables as settings and refuses unknown ones, so it
        # gets none of the caller's (TONGBAN_BIN, TONGBAN_TEST_POSTGRES_URL...).
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
        self.env.update(TONGBAN_SMS_GATEWAY_URL=gateway_url,
                        TONGBAN_SMS_GATEWAY_TOKEN="test-gateway", RUST_LOG="warn")
        self.env.update(env or {})
        self.proc = None
        self.base = None
        self.port = 0

    def start(self):
        listen = f"127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--demo", "--data-dir", self.data_dir, "--listen", listen],
            cwd=self.data_dir,
            stdout=subprocess.PIPE, stderr=open(os.path.join(self.data_dir, "server.log"), "ab"),
            env=self.env, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"http://([\d.]+):(\d+)/", line)
        if not m:
            raise SystemExit(f"tongban client: the server did not start: {line!r}")
        self.port = int(m.group(2))  # restarts listen on the same port
        self.base = f"http://127.0.0.1:{self.port}"
        # Drain stdout so the server never blocks on a full pipe.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()


class Down(Exception):
    """The server is not answering (killed mid-request)."""


def call(base, method, path, token=None, body=None, files=None, timeout=10):
    headers = {}
    data = None
    if token:
        headers["authorization"] = f"Bearer {token}"
    if files is not None:
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in body.items():
            parts.append(f'--{boundary}\r\ncontent-disposition: form-data; name="{name}"\r\n\r\n'
                         .encode() + value.encode() + b"\r\n")
        for name, (filename, content) in files.items():
            parts.append(f'--{boundary}\r\ncontent-disposition: form-data; name="{name}"; '
                         f'filename="{filename}"\r\ncontent-type: application/octet-stream\r\n\r\n'
                         .encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        data = b"".join(parts)
        headers["content-type"] = f"multipart/form-data; boundary={boundary}"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
        raise Down(str(e)) from e


def jpeg(n):
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + f"scan {n} ".encode() * 40


def apply_once(base, token, n):
    """One whole application; returns (case id, reference) once the server acknowledged it."""
    status, case = call(base, "POST", "/api/v1/cases", token, {"item_code": ITEM})
    if status != 201:
        raise SystemExit(f"tongban client: creating a draft answered {status}: {case}")
    cid = case["id"]
    status, body = call(base, "PUT", f"/api/v1/cases/{cid}/answers", token, {"answers": ANSWERS})
    if status != 200:
        raise SystemExit(f"tongban client: saving answers answered {status}: {body}")
    for i, m in enumerate(MATERIALS):
        status, body = call(base, "POST", f"/api/v1/cases/{cid}/materials", token,
                            {"material": m}, {"file": ("scan.jpg", jpeg(n * 10 + i))})
        if status != 201:
            raise SystemExit(f"tongban client: uploading answered {status}: {body}")
    status, body = call(base, "POST", f"/api/v1/cases/{cid}/submit", token)
    if status != 200 or not body.get("reference"):
        raise SystemExit(f"tongban client: submitting answered {status}: {body}")
    return cid, body["reference"]


def sign_in(base, gateway):
    status, body = call(base, "POST", "/api/v1/auth/code", body={"phone": PHONE})
    if status != 200:
        raise SystemExit(f"tongban client: asking for a code answered {status}: {body}")
    code = None
    for _ in range(50):
        code = gateway.last_code()
        if code:
            break
        time.sleep(0.1)
    status, body = call(base, "POST", "/api/v1/auth/sign-in", body={"phone": PHONE, "code": code})
    if status != 200:
        raise SystemExit(f"tongban client: signing in answered {status}: {body}")
    return body["token"]


class StaffBrowser:
    """A staff member's signed-in browser session over the pages (cookie and CSRF token)."""

    def __init__(self, base, username, password):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = self.get("/staff/sign-in")
        csrf = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode(
            {"_csrf": csrf, "username": username, "password": password}).encode()
        req = urllib.request.Request(base + "/staff/sign-in", data=form, method="POST",
                                     headers={"origin": base})
        with self.opener.open(req, timeout=10) as r:
            r.read()
        if "/staff/sign-in" in r.geturl():
            raise SystemExit(f"could not sign in as {username}")

    def get(self, path):
        with self.opener.open(self.base + path, timeout=30) as r:
            return r.read().decode()

    def post_form(self, path, pairs):
        """Posts a form with the page's CSRF token; returns the answer's text."""
        page = self.get(path)
        csrf = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode([("_csrf", csrf)] + list(pairs)).encode()
        req = urllib.request.Request(self.base + path, data=form, method="POST",
                                     headers={"origin": self.base})
        with self.opener.open(req, timeout=30) as r:
            return r.read().decode()

    def new_token(self, name, scopes):
        """A personal access token with `scopes`, made on the tokens page."""
        page = self.post_form("/me/tokens", [("name", name)] + [("scopes", s) for s in scopes])
        return re.search(r'<code class="secret">([^<]+)</code>', page).group(1)


def loadgen(root, base, clients, *args):
    """Runs the Rust load generator (target/release/tongban-loadgen) against `base` and returns
    its figures: done, calls, seconds, per_second. The timed parts of the benchmarks use it,
    because a Python client on the same small machine would measure itself."""
    binary = os.path.join(root, "target/release/tongban-loadgen")
    if not os.path.exists(binary):
        raise SystemExit(f"{binary} not found (cargo build --release -p tongban-loadgen)")
    addr = base.split("://", 1)[1]
    out = subprocess.run([binary, "--addr", addr, "--clients", str(clients), *args],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"tongban-loadgen failed: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])
