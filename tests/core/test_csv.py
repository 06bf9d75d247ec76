"""CSV exports: text a spreadsheet would run as a formula is written as text, numbers stay
numbers, and the download is named as the caller says."""

import csv
import io
from decimal import Decimal

import pytest

from core.csv import csv_cell, csv_response, csv_rows_write


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://x","y")',
        "=cmd|' /C calc'!A0",
        "+1+2",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
        "-",
        "- Rent",
    ],
)
def test_text_that_starts_a_formula_gets_an_apostrophe(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Rent", "Harbour Lane Café", "200 - Sales", "a=b", "", "5-3"])
def test_other_text_is_written_as_it_is(text):
    assert csv_cell(text) == text


@pytest.mark.parametrize("number", [Decimal("-1200.00"), Decimal("5000.00"), -3, 0, 12.5, -0.25])
def test_numbers_stay_numbers_negative_ones_too(number):
    assert csv_cell(number) == number


@pytest.mark.parametrize("text", ["-1200.00", "-3", "-12.5", "1200.00"])
def test_an_amount_written_out_as_text_stays_a_number(text):
    assert csv_cell(text) == text


def test_anything_else_is_its_text_and_none_is_blank():
    assert csv_cell(None) == ""
    assert csv_cell(True) == "True"
    assert csv_cell(Decimal("-0.50")) == Decimal("-0.50")


def _read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_rows_written_to_a_file_are_guarded():
    out = io.StringIO()
    csv_rows_write(out, [["Account", "Amount"], ["=1+1", Decimal("-5.00")]])

    assert _read(out.getvalue()) == [["Account", "Amount"], ["'=1+1", "-5.00"]]


def test_a_download_has_its_file_name_and_guarded_cells():
    response = csv_response(filename="alder-clients.csv", rows=[["Client"], ["@evil"], [None]])

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="alder-clients.csv"'
    assert _read(response.content.decode()) == [["Client"], ["'@evil"], [""]]


def test_a_streamed_download_guards_each_row_as_it_goes():
    def rows():
        yield ["Who", "Why"]
        yield ["ann@example.com", "+SUM(A1)"]

    response = csv_response(filename="audit-log.csv", rows=rows(), streaming=True)

    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="audit-log.csv"'
    body = b"".join(response.streaming_content).decode()
    assert _read(body) == [["Who", "Why"], ["ann@example.com", "'+SUM(A1)"]]
