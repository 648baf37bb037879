#!/usr/bin/env python3
"""Vendor the GraphiQL assets that strawberry's own GraphiQL template loads from unpkg.

For every ``https://unpkg.com/<package>@<version>/<path>`` in strawberry's
``static/graphiql.html``: fetch the package from the npm registry with ``npm pack``,
check the file against the template's ``integrity`` hash, copy it with the package's
LICENSE to ``graphql_api/static/graphiql/<package>@<version>/``, and write
``graphql_api/static/graphiql.html``: the template pointing at ``/static/graphiql/…``.

Run it after upgrading strawberry-graphql (needs npm and the npm registry):

    .venv/bin/python scripts/vendor_graphiql.py
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import strawberry

REPO = Path(__file__).resolve().parent.parent
STATIC = REPO / "graphql_api" / "static"
ASSETS = STATIC / "graphiql"
TEMPLATE = Path(strawberry.__file__).parent / "static" / "graphiql.html"
URL = re.compile(r"https://unpkg\.com/((?:@[\w.-]+/)?[\w.-]+)@([\w.-]+)/([\w./-]+)")
TAG = re.compile(r"<(?:script|link)\b[^>]*>", re.DOTALL)
INTEGRITY = re.compile(r'integrity="(sha\d+)-([^"]+)"')


def npm_pack(package: str, version: str, into: Path) -> Path:
    """The extracted ``package/`` folder of package@version from the npm registry."""
    out = subprocess.run(
        ["npm", "pack", f"{package}@{version}", "--json", "--pack-destination", str(into)],
        check=True,
        capture_output=True,
        text=True,
    )
    tarball = into / json.loads(out.stdout)[0]["filename"]
    target = into / tarball.stem
    with tarfile.open(tarball) as archive:
        archive.extractall(target, filter="data")
    return target / "package"


def license_text(package_dir: Path, package: str) -> str:
    for name in ("LICENSE", "LICENSE.md", "LICENSE.txt", "license"):
        if (package_dir / name).is_file():
            return (package_dir / name).read_text(encoding="utf-8")
    declared = json.loads((package_dir / "package.json").read_text()).get("license", "unknown")
    return f"{package} is published on the npm registry under the {declared} license.\n"


def check_integrity(tag: str, data: bytes, name: str) -> None:
    match = INTEGRITY.search(tag)
    if match is None:
        return
    algorithm, expected = match.groups()
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise SystemExit(f"{name}: integrity mismatch ({actual} != {expected})")


def main() -> int:
    template = TEMPLATE.read_text(encoding="utf-8")
    tags = {m.group(0): URL.search(m.group(0)) for m in TAG.finditer(template)}
    wanted = {(u.group(1), u.group(2)): [] for u in tags.values() if u}  # type: ignore[var-annotated]
    for tag, url in tags.items():
        if url:
            wanted[(url.group(1), url.group(2))].append((tag, url.group(3)))
    if ASSETS.exists():
        shutil.rmtree(ASSETS)
    with tempfile.TemporaryDirectory() as scratch:
        for (package, version), files in wanted.items():
            source = npm_pack(package, version, Path(scratch))
            target = ASSETS / f"{package}@{version}"
            for tag, path in files:
                data = (source / path).read_bytes()
                check_integrity(tag, data, f"{package}@{version}/{path}")
                (target / path).parent.mkdir(parents=True, exist_ok=True)
                (target / path).write_bytes(data)
            (target / "LICENSE").write_text(license_text(source, package), encoding="utf-8")
            print(f"vendored {package}@{version}: {', '.join(p for _, p in files)}")
    page = URL.sub(lambda m: f"/static/graphiql/{m.group(1)}@{m.group(2)}/{m.group(3)}", template)
    page = page.replace("<title>Strawberry GraphiQL</title>", "<title>MarketManager</title>")
    (STATIC / "graphiql.html").write_text(page, encoding="utf-8")
    print(f"wrote {(STATIC / 'graphiql.html').relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
