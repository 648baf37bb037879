import pytest

from marketmanager.migrations import Applied, MigrationError, plan
from sql import Migration

ONE = Migration(1, "initial", "CREATE TABLE a ()")
TWO = Migration(2, "more", "CREATE TABLE b ()")


def test_plan_returns_what_is_not_applied() -> None:
    assert plan([ONE, TWO], []) == [ONE, TWO]
    assert plan([ONE, TWO], [Applied(1, "initial", ONE.checksum)]) == [TWO]
    assert (
        plan([ONE, TWO], [Applied(1, "initial", ONE.checksum), Applied(2, "more", TWO.checksum)])
        == []
    )


def test_an_edited_applied_migration_is_refused_by_name() -> None:
    with pytest.raises(MigrationError, match=r"0001_initial\.sql was edited"):
        plan([ONE, TWO], [Applied(1, "initial", "0" * 64)])


def test_a_migration_the_code_does_not_know_is_refused() -> None:
    with pytest.raises(MigrationError, match="0003_future"):
        plan([ONE, TWO], [Applied(3, "future", "x")])
