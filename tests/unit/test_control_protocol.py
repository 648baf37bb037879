import json

import pytest

from harvester.control.protocol import BadRequest, Request, encode, error, ok, parse_request


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"cmd": "status"}\n', Request("status")),
        (b'{"cmd": "pause"}', Request("pause")),
        (b'{"cmd": "run", "exchange": " binance "}', Request("run", "binance")),
        (b'{"cmd": "drain", "exchange": "ignored"}', Request("drain")),
    ],
)
def test_good_requests(line: bytes, expected: Request) -> None:
    assert parse_request(line) == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"garbage", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"status"', "JSON object"),
        (b"{}", "unknown command None"),
        (b'{"cmd": "reboot"}', "unknown command 'reboot'"),
        (b'{"cmd": 1}', "unknown command 1"),
        (b'{"cmd": "run"}', '"run" needs'),
        (b'{"cmd": "run", "exchange": ""}', '"run" needs'),
        (b'{"cmd": "run", "exchange": 5}', '"run" needs'),
    ],
)
def test_bad_requests_say_what_is_wrong(line: bytes, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_request(line)
    assert message in str(caught.value)


def test_replies_are_single_json_lines() -> None:
    assert json.loads(ok(paused=True)) == {"ok": True, "paused": True}
    assert json.loads(error("nope")) == {"ok": False, "error": "nope"}
    line = encode({"ok": True, "text": "a\nb"})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
