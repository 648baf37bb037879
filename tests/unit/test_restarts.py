from harvester.restarts import RestartHistory, RestartPolicy

POLICY = RestartPolicy(base_delay=1.0, max_delay=8.0, window=60.0, max_restarts=4)


def test_delay_doubles_up_to_the_cap() -> None:
    assert [POLICY.delay(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_history_backs_off_then_gives_up_within_the_window() -> None:
    history = RestartHistory(POLICY)
    delays = []
    for second in range(4):
        assert not history.give_up(float(second))
        delays.append(history.record(float(second)))
    assert delays == [1.0, 2.0, 4.0, 8.0]
    assert history.give_up(4.0)


def test_old_restarts_fall_out_of_the_window() -> None:
    history = RestartHistory(POLICY)
    for second in range(4):
        history.record(float(second))
    assert history.give_up(10.0)
    assert not history.give_up(100.0)
    assert history.record(100.0) == 1.0
