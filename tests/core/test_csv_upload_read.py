"""core.csv's one reader of an uploaded CSV: a byte order mark, header names in any case or
spacing, blank lines and quoted line breaks are read as a person means them; every refusal
names its line."""

import pytest

from core.csv import CsvReadError, csv_upload_read

COLUMNS = ("deal", "amount", "close_month")


def test_rows_come_with_their_line_and_cells_by_column():
    data = (
        "\ufeffDeal , AMOUNT,Close-Month\r\n"
        '"Fit-out, stage 2",1200, 2026-12 \r\n'
        "\r\n"
        '"Two\nlines",5,2027-01\r\n'
        "Short,7\r\n"
    ).encode()
    assert csv_upload_read(data, columns=COLUMNS, required=("deal",)) == [
        (2, {"deal": "Fit-out, stage 2", "amount": "1200", "close_month": "2026-12"}),
        (5, {"deal": "Two\nlines", "amount": "5", "close_month": "2027-01"}),
        (6, {"deal": "Short", "amount": "7", "close_month": ""}),
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"deal,amount,deal\n", "Line 1: the column deal is named twice."),
        (b"deal,owner\n", "Line 1: unknown column 'owner'"),
        (b"amount\n", "Line 1: the column deal is missing."),
        (b"deal\nA,B\n", "Line 2: 2 cells for 1 columns."),
        (b"deal\n" + b"x\n" * 4, "more than 3 rows"),
        (b"deal\n\x00\n", "NUL characters"),
        (b"x" * 2000, "the limit is 1 KB"),
    ],
)
def test_a_file_that_is_not_as_asked_is_refused_with_its_line(data, reason):
    with pytest.raises(CsvReadError, match=reason):
        csv_upload_read(data, columns=COLUMNS, required=("deal",), max_rows=3, max_bytes=1024)
