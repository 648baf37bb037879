"""Issue 8, suite 6: secrets and access.

Tokens are stored and looked up only by their SHA-256 and refused as soon as revoked;
the harvester's control socket (0600) and supervisord's socket (0700) refuse another
user (``nobody``, for real); apiUrl is http(s) only and refuses link-local and metadata
addresses unless MM_ALLOW_PRIVATE_API_URLS=1; no token or database password shows in a
log line or an error message.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from marketmanager import tokens
from marketmanager.settings import Settings, SettingsError
from sql import queries
from tests.support import rows
from tests.support.api_fixtures import *  # noqa: F403  (the api fixtures)
from tests.support.api_fixtures import Api
from tests.support.daemon import Supervised
from tests.support.processes import BIN, REPO, child_env

pytestmark = pytest.mark.reliability

RUN = 'mutation { runExchange(name: "binance") { state } }'
CREATE = "mutation($input: CreateExchangeInput!) { createExchange(input: $input) { apiUrl } }"
PASSWORD = "S3cret-Passw0rd"


def test_the_database_holds_only_the_sha256_of_a_token(api: Api) -> None:
    rows.add_exchange(api.conn, "binance")
    token = rows.token(api.conn, "ci", "write")
    assert api.client.query(RUN, token=token) == {"runExchange": {"state": "QUEUED"}}
    everything = "\n".join(rows.table_contents(api.conn).values())
    assert token not in everything and token[3:] not in everything
    stored = api.conn.execute("SELECT token_sha256 FROM api_tokens").fetchone()["token_sha256"]
    assert bytes(stored) == hashlib.sha256(token.encode()).digest() == tokens.digest(token)


def test_tokens_are_looked_up_by_digest_not_compared_in_python() -> None:
    """The presented token's SHA-256 is the key of an index lookup: no secret is compared
    byte by byte (and so in variable time) anywhere."""
    lookup = " ".join(queries["api_token_lookup"].split())
    assert "token_sha256 = %(sha256)s" in lookup and "revoked_at IS NULL" in lookup


def test_a_revoked_token_is_refused_at_once(api: Api) -> None:
    rows.add_exchange(api.conn, "binance")
    token = rows.token(api.conn, "ci", "write")
    assert api.client.query(RUN, token=token)["runExchange"]["state"] == "QUEUED"
    tokens.revoke(api.conn, "ci")  # the next request, on the same keep-alive connection
    errors = api.client.errors(RUN, token=token)
    assert [e[0] for e in errors] == ["UNAUTHENTICATED"]
    read = api.client.post("{ exchanges { totalCount } }", token=token).json()
    assert [e["extensions"]["code"] for e in read["errors"]] == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.0.1/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
    ],
)
def test_api_url_refuses_link_local_and_metadata_addresses(api: Api, url: str) -> None:
    admin = rows.token(api.conn, "admin", "admin")
    variables = {"input": {"name": "kraken", "apiUrl": url}}
    errors = api.client.errors(CREATE, variables, token=admin)
    assert [e[:2] for e in errors] == [("BAD_USER_INPUT", "apiUrl")] and "private" in errors[0][2]
    allowing = api.variant(allow_private_api_urls=True)
    try:
        assert allowing.query(CREATE, variables, token=admin)["createExchange"]["apiUrl"] == url
    finally:
        allowing.close()


@pytest.mark.parametrize(
    "url", ["ftp://example.org/", "file:///etc/passwd", "gopher://example.org/", "//x.example"]
)
def test_api_url_is_http_or_https_only(api: Api, url: str) -> None:
    admin = rows.token(api.conn, "admin", "admin")
    allowing = api.variant(allow_private_api_urls=True)
    try:
        errors = allowing.errors(CREATE, {"input": {"name": "kraken", "apiUrl": url}}, token=admin)
    finally:
        allowing.close()
    assert [e[:2] for e in errors] == [("BAD_USER_INPUT", "apiUrl")]


def test_no_token_in_any_log_line_or_error(api: Api) -> None:
    rows.add_exchange(api.conn, "binance")
    token = rows.token(api.conn, "ci", "write")
    revoked = rows.token(api.conn, "old", "write")
    tokens.revoke(api.conn, "old")
    unknown = "mm_" + "u" * 43
    with capture_logs() as events:
        answers = [
            api.client.post(RUN, token=token).text,
            api.client.post(RUN, token=revoked).text,
            api.client.post(RUN, token=unknown).text,
            api.client.post(RUN, headers={"authorization": f"Basic {token}"}).text,
            api.client.post(RUN, headers={"authorization": f"Bearer {token} extra"}).text,
        ]
    logged = repr(events)
    assert any(event.get("event") == "api.request" for event in events), "nothing captured"
    for secret in (token, revoked, unknown):
        assert secret not in logged and secret not in " ".join(answers)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://mm:{PASSWORD}@127.0.0.1:9/mm",  # nothing listens on port 9
        f"postgresql://mm@127.0.0.1:9/mm?password={PASSWORD}",
        f"host=127.0.0.1 user=mm password={PASSWORD}",  # not a URL at all
        f"postgresq://mm:{PASSWORD}@127.0.0.1/mm",  # a typo in the scheme
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        ["marketmanager", "migrate"],
        ["marketmanager", "token", "list"],
        ["python", "-m", "harvester"],
        ["python", "-m", "graphql_api"],
    ],
)
def test_no_database_password_in_any_error(command: list[str], url: str, tmp_path: Path) -> None:
    argv = [str(BIN / command[0]), *command[1:]]
    env = child_env(DATABASE_URL=url, MM_DATA_DIR=str(tmp_path), MM_LOG_FORMAT="json")
    done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "DATABASE_URL" in output or "database" in output, output  # it did say why
    assert PASSWORD not in output, output


def test_settings_errors_never_echo_a_database_url() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"DATABASE_URL": f"mysql://root:{PASSWORD}@db/mm"})
    assert PASSWORD not in str(raised.value) and "DATABASE_URL" in str(raised.value)


# --- the sockets, tried by another user ---

PROBE = """
import socket, sys
client = socket.socket(socket.AF_UNIX)
try:
    client.connect(sys.argv[1])
except PermissionError:
    print("denied")
else:
    print("connected")
"""


def _system_python() -> str:
    """A Python that `nobody` may run (the venv's may sit under /root)."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(candidate, os.X_OK):
            return candidate
    raise AssertionError("no system python3 for the other user's probe")


def _as_nobody(path: Path) -> str:
    done = subprocess.run(
        ["runuser", "-u", "nobody", "--", _system_python(), "-c", PROBE, str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A data dir whose parents any user may traverse, so that the sockets' own modes
    are all that stands in the other user's way."""
    root = Path(tempfile.mkdtemp(prefix="mm-access-"))
    root.chmod(0o755)
    yield root / "data"
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="runuser needs root (CI runs as root)")
def test_sockets_refuse_another_user(db_url: str, open_dir: Path) -> None:
    with Supervised(db_url, open_dir) as supervised:
        supervised.wait_control()
        sockets = {
            "control": (supervised.socket_path, 0o600),
            "supervisord": (open_dir / "supervisord.sock", 0o700),
        }
        for directory in (open_dir, supervised.socket_path.parent):
            directory.chmod(0o755)  # only the sockets' modes are left in the way
        for name, (path, mode) in sockets.items():
            assert stat.S_IMODE(path.stat().st_mode) == mode, name
            assert _as_nobody(path) == "denied", name
        assert supervised.request({"cmd": "status"})["ok"]  # its owner still may
        assert "harvester" in supervised.supervisorctl("status").stdout
        # the probe can tell: once the mode lets anyone in, nobody connects
        control, _ = sockets["control"]
        control.chmod(0o666)
        assert _as_nobody(control) == "connected"
