import time

import pytest

from medkb.training.early_stop import EarlyStop


def test_keeps_the_best_epoch_and_stops_after_patience() -> None:
    stop = EarlyStop(patience=2, max_minutes=None, started=time.monotonic())
    kept = [stop.improved(epoch, f1) for epoch, f1 in enumerate([50.0, 55.0, 54.0, 55.0], start=1)]
    assert kept == [True, True, False, False]  # a tie is not a gain
    assert (stop.best_epoch, stop.best_f1, stop.bad) == (2, 55.0, 2)
    assert stop.should_stop(4)


def test_a_gain_resets_the_patience() -> None:
    stop = EarlyStop(patience=2, max_minutes=None, started=time.monotonic())
    for epoch, f1 in enumerate([50.0, 49.0, 51.0], start=1):
        stop.improved(epoch, f1)
        assert not stop.should_stop(epoch)
    assert stop.best_epoch == 3


def test_the_time_budget_stops_a_run_that_still_gains() -> None:
    stop = EarlyStop(patience=5, max_minutes=1, started=time.monotonic() - 61)
    assert stop.improved(1, 10.0)
    assert stop.should_stop(1)
    assert not EarlyStop(patience=5, max_minutes=0, started=time.monotonic() - 3600).should_stop(1)


def test_ctrl_c_keeps_a_finished_epoch_or_re_raises() -> None:
    stop = EarlyStop(patience=2, max_minutes=None, started=time.monotonic())
    with pytest.raises(KeyboardInterrupt):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            stop.interrupted()
    stop.improved(1, 10.0)
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        stop.interrupted()  # no raise: epoch 1 is kept
