"""The gap between a draft's overall figures and the sum of its departments: pure maths."""

import datetime as dt
from decimal import Decimal as D

from budgeting.departments.maths import department_gaps, gaps_open

NOV, DEC = dt.date(2026, 11, 1), dt.date(2026, 12, 1)


def test_the_gap_is_the_overall_figure_less_the_sum_of_the_departments():
    gaps = department_gaps(
        periods=[DEC, NOV],
        overall={"wages": {NOV: D("5000.00"), DEC: D("5200.00")}},
        departments={"wages": [{NOV: D("3000.00"), DEC: D("3000.00")}, {NOV: D("1500.00")}]},
    )
    (wages,) = gaps
    assert [(m.period, m.overall, m.departments, m.gap) for m in wages.months] == [
        (NOV, D("5000.00"), D("4500.00"), D("500.00")),
        (DEC, D("5200.00"), D("3000.00"), D("2200.00")),
    ]
    assert wages.has_overall and wages.departments == 2
    assert wages.has_gap and wages.total == D("2700.00") and wages.largest == D("2200.00")


def test_departments_that_add_up_leave_no_gap():
    (sales,) = department_gaps(
        periods=[NOV],
        overall={"sales": {NOV: D("10000.00")}},
        departments={"sales": [{NOV: D("6000.00")}, {NOV: D("4000.00")}]},
    )
    assert not sales.has_gap and sales.total == D("0.00")


def test_a_side_the_draft_does_not_hold_counts_as_zero():
    only_overall, only_departments = department_gaps(
        periods=[NOV],
        overall={"rent": {NOV: D("6000.00")}},
        departments={"fees": [{NOV: D("-250.00")}]},
    )
    assert (only_overall.account, only_overall.departments, only_overall.largest) == (
        "rent",
        0,
        D("6000.00"),
    )
    assert (only_departments.account, only_departments.has_overall) == ("fees", False)
    assert only_departments.largest == D("250.00")  # overall 0 less -250


def test_a_gap_of_one_cent_is_a_gap_and_explained_gaps_are_not_open():
    gaps = department_gaps(
        periods=[NOV],
        overall={"a": {NOV: D("100.00")}, "b": {NOV: D("50.00")}, "c": {NOV: D("1.00")}},
        departments={"a": [{NOV: D("99.99")}], "b": [{NOV: D("49.00")}], "c": [{NOV: D("1.00")}]},
    )
    assert [g.account for g in gaps if g.has_gap] == ["a", "b"]
    assert [g.account for g in gaps_open(gaps, explained={"b"})] == ["a"]
