"""The one request counter every rate limit uses: atomic, and whole when a key vanishes."""

import threading

from django.core.cache import cache

from core.counters import counter_decrement, counter_increment


def test_counts_from_many_threads_are_all_kept():
    def count():
        for _ in range(50):
            counter_increment("test:counter:threads", timeout=60)

    threads = [threading.Thread(target=count) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert cache.get("test:counter:threads") == 400


def test_a_counter_that_vanished_between_steps_starts_again_at_one():
    assert counter_increment("test:counter:gone", timeout=60) == 1
    cache.delete("test:counter:gone")  # as an expiry or an eviction would
    counter_decrement("test:counter:gone")  # nothing to take back: no error
    assert counter_increment("test:counter:gone", timeout=60) == 1
    assert counter_increment("test:counter:gone", timeout=60) == 2
