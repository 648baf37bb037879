"""`marketmanager simulate` / `python -m simulator`: arguments, signals, exit codes."""

from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from simulator.cli import add_arguments, run


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults() -> None:
    args = _args()
    assert (args.host, args.port, args.markets, args.seed) == ("127.0.0.1", 8900, 2000, 1)
    assert args.exchanges == "binance,kraken" and args.fault == []
    assert _args("--fault", "http500=0.1", "--fault", "latency=1").fault == [
        "http500=0.1",
        "latency=1",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fault", "http500=2"], "bad fault spec 'http500=2'"),
        (["--fault", "explode=1"], "bad fault spec 'explode=1'"),
        (["--markets", "0"], "number of markets must be positive"),
        (["--markets", "-5"], "number of markets must be positive"),
        (["--exchanges", "binance,ftx"], "unknown exchange(s) ftx"),
        (["--exchanges", ","], "no exchange given"),
        (["--port", "70000"], "port must be between 0 and 65535"),
    ],
)
def test_bad_arguments_fail_in_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(_args(*argv)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("marketmanager simulate: error: ") and message in err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serves_then_exits_zero_on_signal(signum: signal.Signals) -> None:
    command = [sys.executable, "-m", "simulator", "--port", "0", "--markets", "30"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            line = json.loads(process.stdout.readline())
            assert line["event"] == "simulator.listening" and line["markets"] == 30
            url = line["url"]
            with urllib.request.urlopen(f"{url}/kraken/0/public/AssetPairs", timeout=5) as reply:
                assert len(json.loads(reply.read())["result"]) == 30
            process.send_signal(signum)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.stderr is not None
        assert process.stderr.read() == ""


def test_busy_port_fails_in_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "simulator", "--port", str(port), "--markets", "5"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"marketmanager simulate: error: cannot listen on 127.0.0.1:{port}"
    )
    assert result.stderr.count("\n") == 1
