"""Log lines of processes that share one stdout stay whole (the harvester's children)."""

import json
import subprocess
import sys
from pathlib import Path

WRITER = """
import structlog, sys
from marketmanager.logging import configure_logging
configure_logging(sys.argv[1], "json")
log = structlog.get_logger()
for n in range(400):
    log.info("tick", n=n, padding="x" * 200)
"""


def test_lines_of_concurrent_processes_do_not_interleave(tmp_path: Path) -> None:
    out = tmp_path / "shared.log"
    with out.open("ab") as shared:
        writers = [
            subprocess.Popen([sys.executable, "-c", WRITER, f"writer-{i}"], stdout=shared)
            for i in range(4)
        ]
        assert [w.wait(60) for w in writers] == [0, 0, 0, 0]
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(events) == 4 * 400
    for i in range(4):
        mine = [e["n"] for e in events if e["process"] == f"writer-{i}"]
        assert mine == list(range(400))
