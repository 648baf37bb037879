from harvester.harvest.runs import taken_away


def test_crashed_requeued_or_deleted_runs_are_taken_away_finished_ones_are_not() -> None:
    states = {1: "RUNNING", 2: "SUCCEEDED", 3: "FAILED", 4: "CRASHED", 5: "QUEUED"}
    assert taken_away([1, 2, 3, 4, 5, 6], states) == {4, 5, 6}
    assert taken_away([], states) == set()
