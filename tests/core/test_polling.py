# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function, unicode_literals

from smart_beauty.polling import FixedPolicy, PollPolicy


def schedule(policy, until):
    t, times = policy.first_delay(), []
    while t <= until:
        times.append(t)
        t += policy.interval(t)
    return times


def test_never_more_than_one_query_per_second_nor_gaps_over_the_maximum():
    policy = PollPolicy()
    for d in [2, 3, 5, 8, 13, 21, 34]:
        policy.observe(d)
    times = schedule(policy, 600)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 1.0 - 1e-9 and max(gaps) <= 15.0 + 1e-9


def test_learns_that_jobs_take_about_twenty_seconds():
    fresh = PollPolicy()
    learned = PollPolicy()
    for i in range(12):
        learned.observe(20.0 * (0.9 + 0.2 * i / 11.0))
    # Having seen similar jobs, it waits longer before the first query and polls densely later.
    assert learned.first_delay() > fresh.first_delay() + 5
    assert learned.interval(20.0) <= 1.5
    assert learned.interval(8.0) > learned.interval(20.0)
    assert fresh.observations == 0 and learned.observations == 12


def test_history_round_trips_through_json():
    a = PollPolicy()
    for d in (4, 6, 9):
        a.observe(d)
    b = PollPolicy()
    b.load_json(a.to_json())
    assert b.observations == 3 and abs(b.interval(5.0) - a.interval(5.0)) < 1e-6
    b.load_json("not json")
    assert b.observations == 3


def test_fixed_policy():
    p = FixedPolicy(5.0)
    assert p.first_delay() == 5.0 and p.interval(123) == 5.0
