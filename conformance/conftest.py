"""Fixtures that run a fresh Atrium server for the conformance suites.

One server per database kind and pytest session: a free port on 127.0.0.1, a temporary data
directory and, for PostgreSQL, a database of its own created on ATRIUM_TEST_PG_URL (dropped at the
end). The kinds come from ATRIUM_CONFORMANCE_DB: `sqlite` (default), `postgres`, or a comma list /
`all` for both in one run. The server's log goes to a file that is attached to every failing test.

Fixtures: `server` (url, host, port, data dir, db kind, `cli(*args)`), `admin_token` (a token with
every scope), `speckle_client` (specklepy authenticated with it), `graphql` (raw POST /graphql).
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

# specklepy reports usage to Speckle's analytics service unless told not to; the suites talk to
# the local server only. Its account files go to a throwaway directory.
if "SPECKLE_USERDATA_PATH" not in os.environ:
    _userdata = tempfile.mkdtemp(prefix="atrium-speckle-userdata-")
    os.environ["SPECKLE_USERDATA_PATH"] = _userdata
    atexit.register(shutil.rmtree, _userdata, True)
from specklepy.logging import metrics  # noqa: E402

metrics.disable()

REPO = Path(__file__).resolve().parents[1]
MAIN_JS = REPO / "packages" / "server" / "dist" / "main.js"
NODE = os.environ.get("NODE", "node")

ADMIN_EMAIL = "admin@example.com"
ADMIN_NAME = "Admin"
ADMIN_PASSWORD = "conformance-" + secrets.token_hex(8)

# Every scope Atrium registers (speckle.md §2.4: core + auth scopes and users:invite).
ALL_SCOPES = [
    "streams:read",
    "streams:write",
    "profile:read",
    "profile:write",
    "profile:email",
    "profile:delete",
    "users:read",
    "users:email",
    "server:stats",
    "server:setup",
    "tokens:read",
    "tokens:write",
    "apps:read",
    "apps:write",
    "users:invite",
]

HEALTH_TIMEOUT_S = 60
CLI_TIMEOUT_S = 120
LOG_TAIL_LINES = 200


def _db_kinds() -> list[str]:
    raw = os.environ.get("ATRIUM_CONFORMANCE_DB", "sqlite").strip().lower()
    if raw in ("all", "both"):
        return ["sqlite", "postgres"]
    kinds = [k.strip() for k in raw.split(",") if k.strip()]
    for k in kinds:
        if k not in ("sqlite", "postgres"):
            raise pytest.UsageError(f"ATRIUM_CONFORMANCE_DB: unknown database kind {k!r} (sqlite|postgres|all)")
    return kinds or ["sqlite"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:]) or "(server log is empty)"


def _pg_admin(sql: str) -> None:
    """Runs one statement on ATRIUM_TEST_PG_URL with the `pg` driver the server already depends on
    (no Python PostgreSQL driver needed)."""
    script = (
        "const pg = require('pg');"
        "const c = new pg.Client({ connectionString: process.env.PG_URL });"
        "c.connect().then(() => c.query(process.env.PG_SQL)).then(() => c.end())"
        ".catch((e) => { console.error(e.message); process.exit(1); });"
    )
    env = {**os.environ, "PG_URL": os.environ["ATRIUM_TEST_PG_URL"], "PG_SQL": sql}
    done = subprocess.run(
        [NODE, "-e", script],
        cwd=REPO / "packages" / "server",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"PostgreSQL admin statement failed: {sql}\n{done.stderr.strip()}")


def _database_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


class CliError(AssertionError):
    pass


@dataclass
class AtriumServer:
    """A running Atrium server the suites talk to."""

    db_kind: str
    port: int
    data_dir: Path
    log_path: Path
    env: dict[str, str]
    database_url: str | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        """host:port, the form SpeckleClient(host=…, use_ssl=False) takes"""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """the public URL (http://127.0.0.1:<port>), also the expected canonicalUrl"""
        return f"http://{self.host}"

    def cli(self, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        """Runs `node packages/server/dist/main.js <args>` against this server's data dir/database."""
        done = subprocess.run(
            [NODE, str(MAIN_JS), *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            input=input if input is not None else "",
            timeout=CLI_TIMEOUT_S,
        )
        if check and done.returncode != 0:
            raise CliError(
                f"atrium {' '.join(args)} exited {done.returncode}\n"
                f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
        return done

    def create_token(self, scopes: list[str], *, name: str | None = None, user: str = ADMIN_EMAIL) -> str:
        """A personal access token made with the CLI (prints only the token on stdout)."""
        done = self.cli(
            "tokens", "create",
            "--user", user,
            "--name", name or f"conformance-{secrets.token_hex(3)}",
            "--scopes", ",".join(scopes),
        )
        token = done.stdout.strip()
        if not token or len(token.splitlines()) != 1:
            raise CliError(f"`tokens create` should print only the token, printed:\n{done.stdout!r}")
        return token


def _start_server(db_kind: str, tmp: Path) -> AtriumServer:
    if not MAIN_JS.exists():
        pytest.fail(f"{MAIN_JS} is missing: build the server first (npm run build)", pytrace=False)

    env = {k: v for k, v in os.environ.items() if not k.startswith("ATRIUM_")}
    port = _free_port()
    data_dir = tmp / "data"
    data_dir.mkdir()
    env.update(
        ATRIUM_PORT=str(port),
        ATRIUM_HOST="127.0.0.1",
        ATRIUM_DATA_DIR=str(data_dir),
        ATRIUM_LOG_LEVEL="warn",
    )
    database_url = None
    if db_kind == "postgres":
        base = os.environ.get("ATRIUM_TEST_PG_URL")
        if not base:
            pytest.fail(
                "ATRIUM_CONFORMANCE_DB=postgres needs ATRIUM_TEST_PG_URL (scripts/test-postgres.sh start prints it)",
                pytrace=False,
            )
        name = "atrium_c_" + secrets.token_hex(6)
        _pg_admin(f"create database {name}")
        database_url = _database_url(base, name)
        env["ATRIUM_DATABASE_URL"] = database_url

    server = AtriumServer(
        db_kind=db_kind,
        port=port,
        data_dir=data_dir,
        log_path=tmp / "server.log",
        env=env,
        database_url=database_url,
    )
    log = open(server.log_path, "wb")
    server.process = subprocess.Popen(
        [NODE, str(MAIN_JS), "serve"],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()

    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            _stop_server(server)
            pytest.fail(
                f"atrium serve exited with {server.process.returncode} before /health answered\n"
                f"--- server log ---\n{_tail(server.log_path)}",
                pytrace=False,
            )
        try:
            r = requests.get(server.url + "/health", timeout=2)
            if r.status_code == 200:
                return server
            last = f"HTTP {r.status_code}: {r.text[:200]}"
        except requests.RequestException as e:
            last = type(e).__name__
        time.sleep(0.2)
    _stop_server(server)
    pytest.fail(
        f"atrium serve: GET /health did not answer 200 within {HEALTH_TIMEOUT_S}s (last: {last})\n"
        f"--- server log ---\n{_tail(server.log_path)}",
        pytrace=False,
    )


def _stop_server(server: AtriumServer) -> None:
    proc = server.process
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    if server.database_url:
        name = urlsplit(server.database_url).path.lstrip("/")
        try:
            _pg_admin(f"drop database if exists {name} with (force)")
        except Exception as e:  # never hide the tests' own result behind cleanup
            print(f"warning: could not drop {name}: {e}")


# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session", params=_db_kinds())
def server(request) -> AtriumServer:
    """A fresh Atrium server on its own port, data dir and database (one per db kind)."""
    tmp = Path(tempfile.mkdtemp(prefix=f"atrium-conformance-{request.param}-"))
    try:
        srv = _start_server(request.param, tmp)
    except BaseException:  # pytest.fail raises an OutcomeException (a BaseException)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        yield srv
    finally:
        _stop_server(srv)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def admin_user(server: AtriumServer) -> dict[str, str]:
    """The server admin, created with `atrium users create … --admin`."""
    server.cli(
        "users", "create",
        "--email", ADMIN_EMAIL,
        "--name", ADMIN_NAME,
        "--password", ADMIN_PASSWORD,
        "--admin",
    )
    return {"email": ADMIN_EMAIL, "name": ADMIN_NAME, "password": ADMIN_PASSWORD}


@pytest.fixture(scope="session")
def admin_token(server: AtriumServer, admin_user) -> str:
    """A personal access token of the admin holding every scope (tokens:write included)."""
    return server.create_token(ALL_SCOPES, name="conformance")


@pytest.fixture
def speckle_client(server: AtriumServer, admin_token: str):
    """specklepy's SpeckleClient on this server, authenticated with the admin token."""
    from specklepy.api.client import SpeckleClient

    client = SpeckleClient(host=server.host, use_ssl=False)
    client.authenticate_with_token(admin_token)
    return client


@pytest.fixture
def graphql(server: AtriumServer) -> Callable[..., requests.Response]:
    """POST /graphql with raw requests: graphql(query, variables=None, token=None, headers=None)."""

    def post(query: str, variables: dict[str, Any] | None = None, token: str | None = None,
             headers: dict[str, str] | None = None) -> requests.Response:
        body: dict[str, Any] = {"query": query}
        if variables:
            body["variables"] = variables
        h = {"Content-Type": "application/json"}
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        h.update(headers or {})
        return requests.post(server.url + "/graphql", data=json.dumps(body), headers=h, timeout=30)

    return post


# --- server log on failure -------------------------------------------------------------------

def _server_of(item: pytest.Item) -> AtriumServer | None:
    # funcargs holds every fixture of the test's closure, so `server` is there whenever the test
    # used it directly or through another fixture (speckle_client, admin_token, …)
    srv = (getattr(item, "funcargs", None) or {}).get("server")
    return srv if isinstance(srv, AtriumServer) else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        srv = _server_of(item)
        if srv is not None:
            report.sections.append(
                (f"atrium server log ({srv.db_kind}, last {LOG_TAIL_LINES} lines)", _tail(srv.log_path))
            )
    return report


# --- markers of the data suites (appended) -----------------------------------------------------

def pytest_configure(config):
    # `slow`: the 100,000-object send/receive test (test_speckle_data.py); runs by default,
    # deselect with -m "not slow". Registered here because pytest.ini sets --strict-markers.
    config.addinivalue_line("markers", "slow: long-running data test (runs by default; -m 'not slow' skips it)")


# --- HTTPS server (version analytics datasets) -----------------------------------------------
# The analytics tutorial builds its client with `SpeckleClient(host=HOST)`, and specklepy then speaks
# https whatever scheme SPECKLE_HOST carries: the tutorial runs unchanged only against a server that
# speaks TLS. `tls_server` is a fresh Atrium serving HTTPS itself (ATRIUM_TLS_CERT / ATRIUM_TLS_KEY)
# with a self-signed certificate for 127.0.0.1 and localhost made here with openssl; clients trust
# it through `ca_bundle` (e.g. REQUESTS_CA_BUNDLE). One server per database kind and session.


@dataclass
class TlsAtriumServer(AtriumServer):
    ca_bundle: Path | None = None

    @property
    def url(self) -> str:
        """the public URL, https://127.0.0.1:<port>"""
        return f"https://{self.host}"


def _self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    key, cert = directory / "tls-key.pem", directory / "tls-cert.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def _start_tls_server(db_kind: str, tmp: Path) -> TlsAtriumServer:
    if not MAIN_JS.exists():
        pytest.fail(f"{MAIN_JS} is missing: build the server first (npm run build)", pytrace=False)
    cert, key = _self_signed_certificate(tmp)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATRIUM_")}
    port = _free_port()
    data_dir = tmp / "data"
    data_dir.mkdir()
    env.update(
        ATRIUM_PORT=str(port),
        ATRIUM_HOST="127.0.0.1",
        ATRIUM_DATA_DIR=str(data_dir),
        ATRIUM_LOG_LEVEL="info",
        ATRIUM_JOB_POLL_MS="100",
        ATRIUM_TLS_CERT=str(cert),
        ATRIUM_TLS_KEY=str(key),
    )
    database_url = None
    if db_kind == "postgres":
        base = os.environ.get("ATRIUM_TEST_PG_URL")
        if not base:
            pytest.fail("ATRIUM_CONFORMANCE_DB=postgres needs ATRIUM_TEST_PG_URL", pytrace=False)
        name = "atrium_c_" + secrets.token_hex(6)
        _pg_admin(f"create database {name}")
        database_url = _database_url(base, name)
        env["ATRIUM_DATABASE_URL"] = database_url
    server = TlsAtriumServer(
        db_kind=db_kind, port=port, data_dir=data_dir, log_path=tmp / "server.log", env=env,
        database_url=database_url, ca_bundle=cert,
    )
    log = open(server.log_path, "wb")
    server.process = subprocess.Popen(
        [NODE, str(MAIN_JS), "serve"], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            _stop_server(server)
            pytest.fail(f"atrium serve (TLS) exited with {server.process.returncode}\n{_tail(server.log_path)}", pytrace=False)
        try:
            r = requests.get(server.url + "/health", timeout=2, verify=str(cert))
            if r.status_code == 200:
                return server
            last = f"HTTP {r.status_code}"
        except requests.RequestException as e:
            last = f"{type(e).__name__}: {e}"
        time.sleep(0.2)
    _stop_server(server)
    pytest.fail(f"atrium serve (TLS): /health did not answer within {HEALTH_TIMEOUT_S}s (last: {last})\n{_tail(server.log_path)}", pytrace=False)


@pytest.fixture(scope="session", params=_db_kinds())
def tls_server(request) -> TlsAtriumServer:
    """A fresh Atrium serving HTTPS with a self-signed certificate (`ca_bundle`), one per db kind."""
    tmp = Path(tempfile.mkdtemp(prefix=f"atrium-conformance-tls-{request.param}-"))
    try:
        srv = _start_tls_server(request.param, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        yield srv
    finally:
        _stop_server(srv)
        shutil.rmtree(tmp, ignore_errors=True)
