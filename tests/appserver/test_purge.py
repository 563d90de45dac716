"""SPEC §6: which applications a purge removes, and where the policy comes from."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appserver.purge import (
    NS,
    Budget,
    Candidate,
    PurgePolicy,
    Selection,
    overrides,
    with_overrides,
)
from igwcore.problems import InvalidEntry

NOW = 1_000_000 * NS


def select(
    candidates: Iterable[Candidate],
    policy: PurgePolicy,
    now_ns: int,
    *,
    reserve: Mapping[str, Budget] | None = None,
) -> list[str]:
    """Keys to purge, as the application list's sliced purge chooses them: the idle ones
    as they are offered, then those over budget."""
    selection = Selection(policy, now_ns, reserve=reserve)
    chosen = [c.key for c in candidates if selection.offer(c)]
    chosen.extend(c.key for c in selection.over_budget())
    return chosen


def app(
    key: str, *, idle_s: float = 1, server: str = "as0", in_flight: int = 0, size: int = 100
) -> Candidate:
    return Candidate(key, server, NOW - int(idle_s * NS), in_flight, size)


def policy(**values: object) -> PurgePolicy:
    return PurgePolicy().updated_from({"max_idle_s": 600, **values})


def test_idle_for_max_idle_s_or_longer_goes():
    apps = [app("old", idle_s=700), app("just", idle_s=600), app("young", idle_s=599)]
    assert select(apps, policy(), NOW) == ["old", "just"]


def test_max_idle_zero_purges_every_application_not_in_flight():
    apps = [app("a", idle_s=0), app("b", idle_s=0, in_flight=1), app("c", idle_s=0)]
    assert select(apps, policy(max_idle_s=0), NOW) == ["a", "c"]


def test_in_flight_is_never_chosen_however_old_or_over_budget():
    apps = [app("busy", idle_s=10_000, in_flight=2), app("b"), app("c")]
    assert select(apps, policy(max_apps=0), NOW) == ["b", "c"]


def test_least_recently_used_go_until_max_apps_holds():
    apps = [app("c", idle_s=3), app("a", idle_s=5), app("e", idle_s=1), app("b", idle_s=4)]
    apps.append(app("d", idle_s=2))
    assert select(apps, policy(max_apps=2), NOW) == ["a", "b", "c"]


def test_least_recently_used_go_until_max_bytes_holds():
    apps = [app("a", idle_s=4, size=500), app("b", idle_s=3, size=300)]
    apps += [app("c", idle_s=2, size=300), app("d", idle_s=1, size=300)]
    assert select(apps, policy(max_bytes=700), NOW) == ["a", "b"]


def test_budget_holds_per_app_server():
    apps = [app("a0", idle_s=5, server="as0"), app("a1", idle_s=5, server="as1")]
    apps += [app("b0", idle_s=4, server="as0"), app("b1", idle_s=4, server="as1")]
    apps += [app("c1", idle_s=3, server="as1")]
    assert select(apps, policy(max_apps=1), NOW) == ["a0", "a1", "b1"]


def test_idle_ones_count_towards_the_budget_before_any_lru_choice():
    apps = [app("b", idle_s=2), app("idle", idle_s=900), app("c")]
    assert select(apps, policy(max_apps=2), NOW) == ["idle"]


def test_an_app_server_in_flight_throughout_stays_over_budget():
    apps = [app("a", in_flight=1), app("b", in_flight=1)]
    assert select(apps, policy(max_apps=1), NOW) == []


def test_the_oldest_in_flight_is_skipped_and_the_next_oldest_goes():
    apps = [app("a", idle_s=3, in_flight=1), app("b", idle_s=2), app("c", idle_s=1)]
    assert select(apps, policy(max_apps=2), NOW) == ["b"]


def test_many_candidates_in_any_order_go_oldest_first():
    ages = [(i * 7919) % 5000 for i in range(5000)]  # more than one sorted run
    apps = [app(f"k{age}", idle_s=age / 1000) for age in ages]
    chosen = select(apps, policy(max_apps=10), NOW)
    assert chosen == [f"k{age}" for age in range(4999, 9, -1)]


def test_discard_lets_go_of_the_kept_candidates_a_run_at_a_time():
    selection = Selection(policy(max_apps=0), NOW)
    for i in range(2 * Selection.RUN + 1):
        selection.offer(app(f"k{i}", idle_s=i / 1000))
    assert len(list(selection.discard())) == 3
    assert list(selection.over_budget()) == []


def test_reserve_makes_room_for_a_deployment():
    apps = [app("a", idle_s=2), app("b")]
    room = {"as0": Budget(1, 100)}
    assert select(apps, policy(max_apps=2), NOW, reserve=room) == ["a"]
    assert select(apps, policy(max_apps=2), NOW, reserve={"as1": Budget(1, 100)}) == []


def test_reserve_on_an_empty_app_server_chooses_nothing():
    assert select([], policy(max_apps=0), NOW, reserve={"as0": Budget(1, 10)}) == []


candidates = st.lists(
    st.builds(
        Candidate,
        key=st.uuids().map(str),
        app_server=st.sampled_from(["as0", "as1", "as2"]),
        last_used_ns=st.integers(NOW - 1000 * NS, NOW),
        in_flight=st.sampled_from([0, 0, 0, 1]),
        size_bytes=st.integers(1, 5000),
    ),
    max_size=60,
)
policies = st.builds(
    PurgePolicy,
    max_idle_s=st.sampled_from([0.0, 100.0, 600.0]),
    max_apps=st.integers(0, 20),
    max_bytes=st.integers(0, 100_000),
)


@given(candidates, policies, st.integers(1, 7))
def test_selection_in_slices_chooses_as_select_does(apps, p, size):
    selection = Selection(p, NOW)
    chosen = []
    for start in range(0, len(apps), size):  # one slice at a time, as the list purges
        chosen += [c.key for c in apps[start : start + size] if selection.offer(c)]
    chosen += [c.key for c in selection.over_budget()]
    assert chosen == select(apps, p, NOW)


@given(candidates, policies)
def test_over_budget_goes_least_recently_used_first_on_each_app_server(apps, p):
    selection = Selection(p, NOW)
    for c in apps:
        selection.offer(c)
    gone = list(selection.over_budget())
    for server in ("as0", "as1", "as2"):
        ages = [c.last_used_ns for c in gone if c.app_server == server]
        assert ages == sorted(ages)
        kept = [c for c in apps if c.app_server == server and c not in gone and not c.in_flight]
        kept = [c for c in kept if c.last_used_ns > NOW - int(p.max_idle_s * NS)]
        if ages and kept:
            assert max(ages) <= min(c.last_used_ns for c in kept)


@given(candidates, policies)
def test_after_a_purge_each_app_server_fits_or_holds_only_in_flight(apps, p):
    gone = set(select(apps, p, NOW))
    left = [c for c in apps if c.key not in gone]
    assert not any(c.in_flight for c in apps if c.key in gone)
    for server, group in itertools.groupby(
        sorted(left, key=lambda c: c.app_server), lambda c: c.app_server
    ):
        group = list(group)
        fits = len(group) <= p.max_apps and sum(c.size_bytes for c in group) <= p.max_bytes
        assert fits or all(c.in_flight for c in group), server
        assert not any(
            c.in_flight == 0 and c.last_used_ns <= NOW - int(p.max_idle_s * NS) for c in group
        )


def test_stored_overrides_win_key_by_key_over_config():
    config = PurgePolicy(max_apps=1000, interval_s=60)
    put = config.updated_from({"max_apps": 50})
    stored = overrides(put, config)
    assert stored == {"max_apps": 50}
    later_config = PurgePolicy(max_apps=2000, interval_s=30)
    effective, ignored = with_overrides(later_config, stored)
    assert (effective.max_apps, effective.interval_s, ignored) == (50, 30, [])


def test_a_key_put_back_to_its_config_value_follows_config_again():
    config = PurgePolicy(max_apps=1000)
    assert overrides(config.updated_from({"max_apps": 1000}), config) == {}


def test_stored_keys_this_release_cannot_use_are_ignored():
    stored = {"max_apps": -1, "max_idle_s": 5, "from_the_future": True}
    effective, ignored = with_overrides(PurgePolicy(), stored)
    assert effective.max_idle_s == 5 and effective.max_apps == PurgePolicy().max_apps
    assert sorted(ignored) == ["from_the_future", "max_apps"]


def test_bad_cron_names_the_field():
    with pytest.raises(InvalidEntry) as e:
        PurgePolicy().updated_from({"cron": "every tuesday"})
    assert e.value.members["errors"][0]["field"] == "cron"
