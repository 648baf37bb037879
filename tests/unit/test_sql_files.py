from pathlib import Path

import pytest

from sql import QueryFileError, describe, load_migrations, parse_queries, queries


def test_parse_queries_splits_on_headers() -> None:
    parsed = parse_queries(
        "-- preamble\n"
        "-- name: first --\n-- The first one.\nSELECT 1;\n\n"
        "-- name: second --\nSELECT %(x)s\nFROM t\n"
    )
    assert list(parsed) == ["first", "second"]
    assert parsed["first"].description == "The first one."
    assert parsed["first"].sql == "SELECT 1"
    assert parsed["second"].description == ""
    assert parsed["second"].sql == "SELECT %(x)s\nFROM t"


def test_duplicate_and_empty_queries_are_refused() -> None:
    with pytest.raises(QueryFileError, match="defined twice"):
        parse_queries("-- name: a --\nSELECT 1\n-- name: a --\nSELECT 2\n")
    with pytest.raises(QueryFileError, match="no statement"):
        parse_queries("-- name: a --\n-- nothing here\n")


def test_the_shipped_queries_all_have_descriptions() -> None:
    assert queries, "queries.sql is empty"
    for name in queries:
        assert describe(name), f"{name} has no description line"


def test_migration_files_are_ordered_and_named(tmp_path: Path) -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == sorted(m.version for m in migrations)
    assert migrations[0].filename == "0001_initial.sql"
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "2_bad.sql").write_text("SELECT 1;")
    with pytest.raises(QueryFileError, match="NNNN_short_name"):
        load_migrations(tmp_path)


def test_checksum_changes_with_the_text() -> None:
    from sql import Migration

    assert Migration(1, "a", "SELECT 1").checksum != Migration(1, "a", "SELECT 2").checksum
