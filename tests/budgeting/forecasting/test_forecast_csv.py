"""The forecast_csv command: forecasts every series in a file, and names the row of bad input."""

import csv
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

HEADER = "unique_id,ds,y\n"


def monthly_rows(unique_id: str, start_year: int, values: list[float]) -> str:
    lines = []
    for i, value in enumerate(values):
        month = date(start_year + i // 12, i % 12 + 1, 1)
        lines.append(f"{unique_id},{month.isoformat()},{value}\n")
    return "".join(lines)


def run(tmp_path, text: str, *extra: str) -> list[dict[str, str]]:
    source = tmp_path / "in.csv"
    target = tmp_path / "out.csv"
    source.write_text(text)
    call_command(
        "forecast_csv", "--input", str(source), "--output", str(target), *extra, stdout=StringIO()
    )
    with target.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_forecasts_every_series_for_the_months_after_its_history(tmp_path):
    rent = [1000.0 + (i % 12) * 10 for i in range(30)]
    sales = [5000.0 + 50 * i for i in range(26)]
    text = HEADER + monthly_rows("rent", 2022, rent) + monthly_rows("sales", 2022, sales)

    rows = run(tmp_path, text, "--horizon", "3")

    assert list(rows[0]) == [
        "unique_id", "ds", "yhat", "lo_80", "hi_80", "lo_95", "hi_95", "method",
    ]  # fmt: skip
    assert [(r["unique_id"], r["ds"]) for r in rows] == [
        ("rent", "2024-07-01"),
        ("rent", "2024-08-01"),
        ("rent", "2024-09-01"),
        ("sales", "2024-03-01"),
        ("sales", "2024-04-01"),
        ("sales", "2024-05-01"),
    ]
    for row in rows:
        bounds = [float(row[c]) for c in ("lo_95", "lo_80", "yhat", "hi_80", "hi_95")]
        assert bounds == sorted(bounds)
        assert row["method"]


def test_rows_may_come_in_any_order_and_levels_are_configurable(tmp_path):
    lines = monthly_rows("cost", 2023, [float(v) for v in range(100, 124)]).splitlines(True)
    rows = run(tmp_path, HEADER + "".join(reversed(lines)), "--horizon", "2", "--levels", "50,90")
    assert [r["ds"] for r in rows] == ["2025-01-01", "2025-02-01"]
    assert {"lo_50", "hi_50", "lo_90", "hi_90"} <= set(rows[0])
    assert "lo_80" not in rows[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("unique_id,ds\nx,2024-01-01\n", "line 1: missing column(s): y"),
        (HEADER + "a,2024-01-01,1\na,2024-02-01,abc\n", "line 3: y 'abc' is not a number"),
        (HEADER + "a,2024-01-01,1\na,2024-02-01,nan\n", "line 3: y 'nan' is not a finite"),
        (HEADER + "a,2024-01-01,1\na,2024-02-15,2\n", "line 3: ds 2024-02-15 is not the first"),
        (HEADER + "a,01/02/2024,1\n", "line 2: ds '01/02/2024' is not a date"),
        (HEADER + "a,2024-02-30,1\n", "line 2: ds '2024-02-30' is not a valid date"),
        (
            HEADER + "a,2024-01-01,1\na,2024-02-01,2\na,2024-01-01,3\n",
            "line 4: duplicate month 2024-01 for 'a' (already on line 2)",
        ),
        (
            HEADER + "a,2024-01-01,1\na,2024-02-01,2\na,2024-05-01,3\n",
            "line 4: gap in 'a': 2024-05 follows 2024-02",
        ),
        (HEADER + ",2024-01-01,1\n", "line 2: unique_id is empty"),
        (HEADER, "no data rows"),
    ],
    ids=[
        "missing column",
        "non-numeric",
        "not finite",
        "not first of month",
        "wrong date format",
        "impossible date",
        "duplicate month",
        "gap",
        "empty id",
        "empty file",
    ],
)
def test_bad_input_stops_with_the_row_and_the_problem(tmp_path, text, message):
    with pytest.raises(CommandError) as raised:
        run(tmp_path, text, "--horizon", "3")
    assert message in str(raised.value)
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--horizon", "0"), "--horizon must be between 1 and 24"),
        (("--horizon", "25"), "--horizon must be between 1 and 24"),
        (("--horizon", "3", "--levels", "80,100"), "levels must be between 1 and 99"),
        (("--horizon", "3", "--levels", "high"), "levels must be whole percentages"),
    ],
)
def test_bad_options_are_refused(tmp_path, extra, message):
    with pytest.raises(CommandError, match=message):
        run(tmp_path, HEADER + monthly_rows("a", 2024, [1.0, 2.0, 3.0]), *extra)


def test_missing_input_file_is_reported(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command(
            "forecast_csv",
            "--input",
            str(tmp_path / "nope.csv"),
            "--output",
            str(tmp_path / "out.csv"),
            "--horizon",
            "3",
        )
