"""The affinity store: what it remembers, how much, and that the collector never walks it."""

from __future__ import annotations

import gc

from laneway.routing.affinity import Affinity


def test_a_response_is_found_where_it_was_made() -> None:
    affinity = Affinity()
    affinity.remember("resp_a", "openai", "gpt-5.4")
    affinity.remember("resp_b", "azure", "gpt-5.4-mini")
    assert affinity.home_of("resp_a") == ("openai", "gpt-5.4")
    assert affinity.home_of("resp_b") == ("azure", "gpt-5.4-mini")
    assert affinity.home_of("resp_unknown") is None


def test_the_owner_key_is_kept_with_the_home_and_a_forgotten_response_is_gone() -> None:
    affinity = Affinity()
    affinity.remember("resp_a", "openai", "gpt-5.4", "key_alice")
    affinity.remember("resp_b", "openai", "gpt-5.4", "key_bob")
    affinity.remember("resp_c", "openai", "gpt-5.4")
    assert affinity.place_of("resp_a") == ("openai", "gpt-5.4", "key_alice")
    assert affinity.place_of("resp_b") == ("openai", "gpt-5.4", "key_bob")
    assert affinity.place_of("resp_c") == ("openai", "gpt-5.4", None)
    assert affinity.home_of("resp_b") == ("openai", "gpt-5.4")
    affinity.forget("resp_a")
    assert affinity.place_of("resp_a") is None
    assert affinity.home_of("resp_a") is None


def test_remembering_again_moves_a_response() -> None:
    affinity = Affinity()
    affinity.remember("resp_a", "openai", "gpt-5.4")
    affinity.remember("resp_a", "azure", "gpt-5.4")
    assert affinity.home_of("resp_a") == ("azure", "gpt-5.4")


def test_bounded_to_its_capacity_and_keeps_at_least_half() -> None:
    affinity = Affinity(capacity=10)
    for n in range(100):
        affinity.remember(f"resp_{n}", "openai", "gpt-5.4")
        assert len(affinity) <= 10
        # The newest half of the capacity is always there, the oldest beyond it never.
        assert all(affinity.home_of(f"resp_{k}") for k in range(max(0, n - 4), n + 1))
        assert all(affinity.home_of(f"resp_{k}") is None for k in range(n - 9))
    assert len(affinity) >= 5


def test_the_garbage_collector_does_not_walk_the_store() -> None:
    # A full collection walks every tracked container; a store of 100,000 entries the
    # collector tracks added ~2 ms to each one.
    affinity = Affinity(capacity=1_000)
    for n in range(1_500):
        affinity.remember(f"resp_probe_{n}", f"provider-{n % 3}", "gpt-5.4")
    gc.collect()
    holders = [o for o in gc.get_objects() if isinstance(o, dict) and "resp_probe_1499" in o]
    assert holders == []
    assert affinity.home_of("resp_probe_1499") == ("provider-2", "gpt-5.4")
