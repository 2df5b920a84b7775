"""One torch thread-count block for describing, previews and profiling: blocks open at once on
different threads give the count back only when the last one ends."""

import threading

import pytest
import torch

from mandc.errors import ConfigError
from mandc.threads import open_blocks, torch_threads


@pytest.fixture
def two_threads_before():
    """The process at 2 threads (a count that 1 differs from on any machine), put back after."""
    original = torch.get_num_threads()
    torch.set_num_threads(2)
    yield 2
    torch.set_num_threads(original)


def count_in_a_new_thread() -> int:
    """The count a thread started now runs on (ATen reads the process-wide count at its first op),
    as an encoder pool's worker would."""
    seen = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return seen[0]


def test_overlapping_blocks_on_two_threads_give_the_count_back_when_the_last_ends(
        two_threads_before):
    """A enters, B enters, A leaves: still 1 (a preview ending must not hand 2 threads to an
    upload's describe still running); B leaves: 2 again."""
    a_entered, b_entered, a_left, b_checked = (threading.Event() for _ in range(4))
    seen, errors = {}, []

    def guarded(work):
        def run():
            try:
                work()
            except BaseException as error:  # noqa: BLE001 - shown by the assertion below
                errors.append(error)
                for event in (a_entered, b_entered, a_left, b_checked):
                    event.set()
        return run

    def a():
        with torch_threads(1):
            seen["A in its block"] = torch.get_num_threads()
            a_entered.set()
            assert b_entered.wait(30)
        a_left.set()

    def b():
        assert a_entered.wait(30)
        with torch_threads(1):
            b_entered.set()
            assert a_left.wait(30)
            seen["B, A's block ended"] = torch.get_num_threads()
            seen["new thread, A's block ended"] = count_in_a_new_thread()
            seen["blocks open, A's block ended"] = open_blocks()
        seen["B, after its block"] = torch.get_num_threads()
        seen["new thread, after both"] = count_in_a_new_thread()
        seen["blocks open, after both"] = open_blocks()

    threads = [threading.Thread(target=guarded(a)), threading.Thread(target=guarded(b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert seen == {"A in its block": 1,
                    "B, A's block ended": 1, "new thread, A's block ended": 1,
                    "blocks open, A's block ended": 1,
                    "B, after its block": 2, "new thread, after both": 2,
                    "blocks open, after both": 0}


def test_blocks_started_inside_a_block_and_ended_by_it_are_counted_too(two_threads_before):
    """The describe's case: workers started in the block run on its count; they end before it."""
    seen = {}
    with torch_threads(1):
        seen["started in the block"] = count_in_a_new_thread()
        worker = threading.Thread(target=lambda: seen.update(worker=torch.get_num_threads()))
        with torch_threads(1):
            worker.start()
            worker.join()
        seen["after the inner block"] = torch.get_num_threads()
    assert seen == {"started in the block": 1, "worker": 1, "after the inner block": 1}
    assert torch.get_num_threads() == count_in_a_new_thread() == 2


def test_nested_blocks_with_different_counts_run_on_the_innermost_open_one(two_threads_before):
    with torch_threads(1):
        with torch_threads(3):
            inner = torch.get_num_threads()
        outer = torch.get_num_threads()
    assert (inner, outer, torch.get_num_threads()) == (3, 1, 2)


def test_the_count_is_given_back_when_the_block_raises(two_threads_before):
    with pytest.raises(RuntimeError, match="inside"), torch_threads(1):
        raise RuntimeError("inside")
    assert torch.get_num_threads() == 2 and open_blocks() == 0


@pytest.mark.parametrize("count", [0, -1, 1.5, True, "2"])
def test_a_count_that_is_not_a_positive_whole_number_is_refused(count, two_threads_before):
    with pytest.raises(ConfigError, match="torch thread count must be a whole number"):
        with torch_threads(count):
            pass
    assert torch.get_num_threads() == 2 and open_blocks() == 0


def test_a_thread_that_left_early_does_not_give_back_its_stale_count_later(two_threads_before):
    """W2 opens a block; W1 opens and leaves one inside it (so W1 keeps 1); W2 leaves (2 is
    given back). Later W1 opens and leaves a block alone: it must give back 2, not the 1 it was
    left on (the process would then run every new thread on 1 for good)."""
    from concurrent.futures import ThreadPoolExecutor

    first, second = ThreadPoolExecutor(1), ThreadPoolExecutor(1)
    for pool in (first, second):  # both workers have run torch before, as a server's have
        pool.submit(torch.get_num_threads).result()
    opened, inner_done = threading.Event(), threading.Event()

    def outer():
        with torch_threads(1):
            opened.set()
            assert inner_done.wait(10)

    def inner():
        assert opened.wait(10)
        with torch_threads(1):
            pass
        inner_done.set()

    try:
        running = second.submit(outer)
        first.submit(inner).result(timeout=10)
        running.result(timeout=10)
        assert open_blocks() == 0
        assert first.submit(torch.get_num_threads).result() == 1  # left early: kept the block's

        def alone():
            with torch_threads(1):
                pass

        first.submit(alone).result(timeout=10)
        assert torch.get_num_threads() == 2
        assert count_in_a_new_thread() == 2
        assert first.submit(torch.get_num_threads).result() == 2
    finally:
        first.shutdown()
        second.shutdown()
