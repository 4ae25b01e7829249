import gc

import pytest

from cvrtracker.lib.collect import gc_paused


def test_the_collector_is_paused_inside_and_back_after():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        # Only the outermost pause enables it again.
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_enables_it_again():
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_it_decorates_a_function_for_every_call():
    @gc_paused()
    def read():
        return gc.isenabled()

    assert read() is False and read() is False
    assert gc.isenabled()


def test_a_collector_already_off_stays_off():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_memory_bounded_holds_inside_only_and_nests():
    from cvrtracker.lib.collect import memory_bounded, memory_bounded_now

    assert not memory_bounded_now()
    with memory_bounded():
        assert memory_bounded_now()
        with memory_bounded():
            assert memory_bounded_now()
        assert memory_bounded_now()
    assert not memory_bounded_now()
    with pytest.raises(RuntimeError), memory_bounded():
        raise RuntimeError("boom")
    assert not memory_bounded_now()
