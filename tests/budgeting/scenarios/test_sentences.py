"""The scenario sentence parser: every phrase family on each sandbox organisation's own chart of
accounts, a table of sentences on the café's, bad input, and the `scenario_parse` command."""

import datetime as dt
import json
import subprocess
import sys

import pytest

from budgeting.scenarios.maths import ChartAccount, Group, account_groups
from budgeting.scenarios.sentences import TrackingName, scenario_months, sentence_parse

START = dt.date(2026, 12, 1)
MONTHS = scenario_months(START, 12)  # Dec 2026 to Nov 2027
WHOLE = {"from": "2026-12", "to": "2027-11"}


def _chart(organisation) -> list[ChartAccount]:
    return [
        ChartAccount(index, a.code, a.name, a.type, a.account_class)
        for index, a in enumerate(organisation.accounts, start=1)
    ]


def _codes(chart, group: Group) -> list[str]:
    return sorted(a.code for a in chart if group in account_groups(a))


def _read(sentence, chart, **kwargs):
    result = sentence_parse(sentence, chart=chart, months=MONTHS, **kwargs)
    return result, result.as_json()


def _one(sentence, chart, **kwargs) -> dict:
    result, body = _read(sentence, chart, **kwargs)
    assert result.ok, (sentence, body)
    assert body["not_understood"] == [], (sentence, body)
    (adjustment,) = body["adjustments"]
    return {**adjustment, "accounts": sorted(adjustment["accounts"])}


def _plain(name: str) -> str:
    return name.replace(" - ", " ")


@pytest.fixture(scope="module")
def charts(shared_organisations):
    return {o.key: _chart(o) for o in shared_organisations}


ORGANISATIONS = ["cafe", "saas", "construction", "importer", "group"]


@pytest.mark.parametrize("key", ORGANISATIONS)
def test_every_phrase_family_on_each_sandbox_chart(charts, key):
    chart = charts[key]
    revenue = _codes(chart, Group.REVENUE)
    cost = _codes(chart, Group.COST_OF_SALES)
    opex = _codes(chart, Group.OPERATING_EXPENSES)
    wages = _codes(chart, Group.WAGES)
    assert revenue and cost and opex and wages
    pct = {"amount": None, "per": None, "set_to": None}

    # The groups and their synonyms.
    for words, codes in [
        ("sales", revenue),
        ("turnover", revenue),
        ("revenue", revenue),
        ("COGS", cost),
        ("cost of goods sold", cost),
        ("cost of sales", cost),
        ("overheads", opex),
        ("opex", opex),
        ("operating expenses", opex),
        ("payroll", wages),
        ("salaries", wages),
        ("wages", wages),
    ]:
        assert _one(f"increase {words} by 15%", chart) == {
            "accounts": codes,
            "percent": "15",
            **pct,
            **WHOLE,
        }, words

    # Directions, and the fractions and multiples.
    for sentence, percent in [
        ("raise sales by 10%", "10"),
        ("grow sales 10 percent", "10"),
        ("sales up 10%", "10"),
        ("decrease overheads by 5%", "-5"),
        ("cut overheads by 5 per cent", "-5"),
        ("drop overheads by 5%", "-5"),
        ("reduce overheads by a third", "-33.33"),
        ("increase wages by a third", "33.33"),
        ("double wages", "100"),
        ("halve wages", "-50"),
        ("cut wages by half", "-50"),
    ]:
        assert _one(sentence, chart)["percent"] == percent, sentence

    # Amounts: per month, per year, in total, and set to.
    assert _one("increase sales by $2,000 per month", chart) == {
        "accounts": revenue,
        "percent": None,
        "amount": "2000.00",
        "per": "month",
        "set_to": None,
        **WHOLE,
    }
    assert _one("cut overheads by 1,500 a month", chart)["amount"] == "-1500.00"
    year = _one("increase overheads by 6,000 per year", chart)
    assert (year["amount"], year["per"]) == ("6000.00", "total")  # twelve months: a whole year
    assert _one("raise sales by 2k in total", chart)["amount"] == "2000.00"
    assert _one("set wages to 40,000 a month", chart)["set_to"] == "40000.00"

    # Months.
    for sentence, span in [
        ("increase sales by 5% from March", ("2027-03", "2027-11")),
        ("increase sales by 5% until June", ("2026-12", "2027-06")),
        ("increase sales by 5% between March and June", ("2027-03", "2027-06")),
        ("increase sales by 5% from March to June", ("2027-03", "2027-06")),
        ("increase sales by 5% in May", ("2027-05", "2027-05")),
        ("increase sales by 5% for the next 3 months", ("2026-12", "2027-02")),
        ("increase sales by 5% over the next six months", ("2026-12", "2027-05")),
        ("increase sales by 5% from February 2027", ("2027-02", "2027-11")),
    ]:
        read = _one(sentence, chart)
        assert (read["from"], read["to"]) == span, sentence

    # Account names as Xero holds them: any case, plural or singular, "&" or "and".
    named = [a for a in chart if a.section is not None and Group.REVENUE not in account_groups(a)]
    for account in named[:25]:
        name = _plain(account.name)
        variants = {name.upper(), name.lower()}
        if name.endswith("s") and not name.endswith("ss"):
            variants.add(name[:-1])
        elif not name.endswith("s"):
            variants.add(name + "s")
        if "&" in name:
            variants.add(name.replace("&", "and"))
        if " and " in name:
            variants.add(name.replace(" and ", " & "))
        for variant in variants:
            result, body = _read(f"increase {variant} by 7%", chart)
            assert result.ok, (variant, body)
            codes = [code for a in body["adjustments"] for code in a["accounts"]]
            assert account.code in codes, (variant, body)
        assert _one(f"increase account {account.code} by 7%", chart)["accounts"] == [account.code]


def test_the_call_question_on_the_cafe(charts):
    result, body = _read(
        "What happens to net profit if we increase sales by 15% but COGS rises 5%?",
        charts["cafe"],
    )
    assert result.ok
    assert body == {
        "adjustments": [
            {
                "accounts": ["200", "210"],
                "percent": "15",
                "amount": None,
                "per": None,
                "set_to": None,
                **WHOLE,
            },
            {
                "accounts": ["310"],
                "percent": "5",
                "amount": None,
                "per": None,
                "set_to": None,
                **WHOLE,
            },
        ],
        "not_understood": [],
    }
    assert [a.description for a in result.adjustments] == [
        "Revenue up 15% from Dec 2026 to Nov 2027",
        "Cost of sales up 5% from Dec 2026 to Nov 2027",
    ]


# (sentence, [(accounts, percent, amount, per, set_to, from, to)], not understood)
CAFE = [
    (
        "cut rent and insurance by 10% from March",
        [(["433", "469"], "-10", None, None, None, "2027-03", "2027-11")],
        [],
    ),
    (
        "double advertising between March and June",
        [(["400"], "100", None, None, None, "2027-03", "2027-06")],
        [],
    ),
    (
        "halve bank fees for the next 3 months",
        [(["404"], "-50", None, None, None, "2026-12", "2027-02")],
        [],
    ),
    (
        "Consulting and Accounting up 4%; telephone & internet down 2%",
        [
            (["412"], "4", None, None, None, "2026-12", "2027-11"),
            (["489"], "-2", None, None, None, "2026-12", "2027-11"),
        ],
        [],
    ),
    (
        "increase light power heating by 1,200 per year from June",
        [(["445"], None, "600.00", "total", None, "2027-06", "2027-11")],
        [],
    ),
    (
        "set rent to 7,000 a month from April",
        [(["469"], None, None, "month", "7000.00", "2027-04", "2027-11")],
        [],
    ),
    (
        "grow turnover 10% with cost of sales following",
        [(["200", "210"], "10", None, None, None, "2026-12", "2027-11")],
        [],
    ),
    (
        "raise catering sale by NZ$2,000 per month until February",
        [(["210"], None, "2000.00", "month", None, "2026-12", "2027-02")],
        [],
    ),
    (
        "sales gradually up 4%",
        [(["200", "210"], "4", None, None, None, "2026-12", "2027-11")],
        ["gradually"],
    ),
    (
        "payroll up 3% from July and subscriptions down 20%",
        [
            (["477", "478"], "3", None, None, None, "2027-07", "2027-11"),
            (["485"], "-20", None, None, None, "2026-12", "2027-11"),
        ],
        [],
    ),
    (
        "Repairs & Maintenance +5% in total",
        [(["473"], "5", None, None, None, "2026-12", "2027-11")],
        [],
    ),
    (
        "trim cleaning by 250 a month, March-May",
        [(["408"], None, "-250.00", "month", None, "2027-03", "2027-05")],
        [],
    ),
    (
        "increase North sales by 20%",
        [(["200", "210"], "20", None, None, None, "2026-12", "2027-11")],
        [],
    ),
]


@pytest.mark.parametrize(("sentence", "expected", "not_understood"), CAFE)
def test_sentences_on_the_cafe(charts, sentence, expected, not_understood):
    result, body = _read(sentence, charts["cafe"], options=[TrackingName(900, "North")])
    assert result.ok, body
    got = [
        (
            sorted(a["accounts"]),
            a["percent"],
            a["amount"],
            a["per"],
            a["set_to"],
            a["from"],
            a["to"],
        )
        for a in body["adjustments"]
    ]
    assert got == expected
    assert body["not_understood"] == not_understood


def test_cost_of_sales_follows_and_a_tracking_option_is_kept(charts):
    result, _ = _read(
        "grow sales 10% for North, cost of sales following",
        charts["cafe"],
        options=[TrackingName(900, "North")],
    )
    (adjustment,) = result.adjustments
    assert adjustment.adjustment.cost_follows
    assert adjustment.adjustment.target.tracking_option == 900
    assert adjustment.description.endswith("cost of sales following at its margin")


def test_rent_names_every_rent_account_of_the_group(charts):
    chart = charts["group"]
    rent = sorted(a.code for a in chart if a.name.startswith("Rent - "))
    assert _one("cut rent by 10%", chart)["accounts"] == rent


@pytest.mark.parametrize(
    ("sentence", "problem", "suggested"),
    [
        ("cut marketing by 10%", "“marketing” is not an account", []),
        ("cut advertsing by 10%", "not an account", ["Advertising"]),
        ("cut rent by 150%", "at most 100%", []),
        ("increase sales by 5% from March 2028", "outside the scenario's months", []),
        ("blah blah", "Nothing in that sentence", []),
        ("increase rent", "say by how much", []),
        ("increase sales by 5% for the next 999999 months", "outside the scenario's months", []),
        ("", "Type what to change", []),
    ],
)
def test_bad_input_applies_nothing_and_says_which_part_failed(charts, sentence, problem, suggested):
    result, body = _read(sentence, charts["cafe"])
    assert not result.ok
    assert any(problem in p for p in result.problems), body
    for name in suggested:
        assert name in result.suggestions


def test_the_command_prints_what_it_read(tmp_path):
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "code,name,class,type\n200,Sales,REVENUE,REVENUE\n310,Cost of Goods Sold,EXPENSE,"
        "DIRECTCOSTS\n469,Rent,EXPENSE,OVERHEADS\n"
    )
    command = [
        sys.executable,
        "manage.py",
        "scenario_parse",
        "--accounts",
        str(accounts),
        "--start",
        "2027-01",
        "--months",
        "12",
    ]
    done = subprocess.run(
        [*command, "increase sales by 15% but COGS rises 5% from March"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "adjustments": [
            {
                "accounts": ["200"],
                "percent": "15",
                "amount": None,
                "per": None,
                "set_to": None,
                "from": "2027-01",
                "to": "2027-12",
            },
            {
                "accounts": ["310"],
                "percent": "5",
                "amount": None,
                "per": None,
                "set_to": None,
                "from": "2027-03",
                "to": "2027-12",
            },
        ],
        "not_understood": [],
    }
    failed = subprocess.run(
        [*command, "cut marketing by 10%"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["problems"]
