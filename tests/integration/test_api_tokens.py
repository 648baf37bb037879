"""`marketmanager token create|list|revoke`, and the tokens it makes at the API's door."""

from __future__ import annotations

import hashlib

import pytest

from marketmanager.cli import main
from tests.support.api_fixtures import *  # noqa: F403  (the api fixtures)
from tests.support.api_fixtures import Api

RUN = 'mutation { runExchange(name: "binance") { state } }'


def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", url)
    code = main(["token", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_token_lifecycle(
    api: Api, api_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api.conn.execute("INSERT INTO exchanges (name) VALUES ('binance')")
    code, out, _ = cli(monkeypatch, capsys, api_db, "create", "ci")
    assert code == 0
    token = out.splitlines()[0]
    assert token.startswith("mm_") and "not shown again" in out
    stored = api.conn.execute("SELECT token_sha256, scopes FROM api_tokens").fetchone()
    assert stored == {
        "token_sha256": hashlib.sha256(token.encode()).digest(),
        "scopes": ["read", "write"],
    }
    assert token.encode() not in bytes(stored["token_sha256"])
    assert api.client.query(RUN, token=token) == {"runExchange": {"state": "QUEUED"}}

    code, _, err = cli(monkeypatch, capsys, api_db, "create", "ci")
    assert code == 2 and "exists" in err
    code, out, _ = cli(monkeypatch, capsys, api_db, "create", "boss", "--scope", "admin")
    admin = out.splitlines()[0]
    code, out, _ = cli(monkeypatch, capsys, api_db, "list")
    assert code == 0 and "read,write,admin" in out and "ci" in out
    assert token not in out and admin not in out  # never shown again

    code, out, _ = cli(monkeypatch, capsys, api_db, "revoke", "ci")
    assert code == 0 and "revoked token 'ci'" in out
    assert api.client.errors(RUN, token=token)[0][0] == "UNAUTHENTICATED"
    boss_id = api.conn.execute("SELECT id FROM api_tokens WHERE name = 'boss'").fetchone()["id"]
    assert cli(monkeypatch, capsys, api_db, "revoke", str(boss_id))[0] == 0
    code, _, err = cli(monkeypatch, capsys, api_db, "revoke", "ci")
    assert code == 2 and "no live token" in err
    # a revoked name can be used again
    assert cli(monkeypatch, capsys, api_db, "create", "ci", "--scope", "read")[0] == 0
