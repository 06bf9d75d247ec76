"""core.db.rows_update: many rows' fields in one statement, exact, and fenced by the queryset."""

import datetime as dt
from decimal import Decimal

import pytest

from budgeting.models import ForecastRecord
from core.db import rows_update
from tests.factories import ForecastRecordFactory

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_exactly_and_nulls_stay_typed(firm_a):
    records = ForecastRecordFactory.create_batch(5, organisation=firm_a.organisation)
    scored_at = dt.datetime(2027, 2, 28, 23, 59, 59, 999999, tzinfo=dt.UTC)
    for i, record in enumerate(records):
        record.actual = Decimal("99999999999999.99") - i if i else None
        record.abs_error = Decimal(f"0.0{i}")
        record.within_80 = i % 2 == 0
        record.within_95 = None if i == 3 else i % 2 == 1
        record.scored_at = scored_at if i else None

    updated = rows_update(
        queryset=ForecastRecord.objects.for_firm(firm_a.firm),
        rows=records,
        fields=["actual", "abs_error", "within_80", "within_95", "scored_at"],
        batch_size=2,  # three statements: batches are cut where they should be
    )

    assert updated == 5
    stored = {
        r.pk: r
        for r in ForecastRecord.objects.for_firm(firm_a.firm).filter(pk__in=[r.pk for r in records])
    }
    for record in records:
        row = stored[record.pk]
        assert (row.actual, row.abs_error, row.within_80, row.within_95, row.scored_at) == (
            record.actual,
            record.abs_error,
            record.within_80,
            record.within_95,
            record.scored_at,
        )


def test_a_row_outside_the_queryset_is_not_written(firm_a, firm_b):
    mine = ForecastRecordFactory(organisation=firm_a.organisation)
    theirs = ForecastRecordFactory(organisation=firm_b.organisation, point=Decimal("10.00"))
    mine.point = theirs.point = Decimal("1.23")

    updated = rows_update(
        queryset=ForecastRecord.objects.for_firm(firm_a.firm), rows=[mine, theirs], fields=["point"]
    )

    assert updated == 1
    assert ForecastRecord.objects.for_firm(firm_a.firm).get(pk=mine.pk).point == Decimal("1.23")
    assert ForecastRecord.objects.for_firm(firm_b.firm).get(pk=theirs.pk).point == Decimal("10.00")


def test_no_rows_is_no_statement(firm_a, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert (
            rows_update(
                queryset=ForecastRecord.objects.for_firm(firm_a.firm), rows=[], fields=["point"]
            )
            == 0
        )
