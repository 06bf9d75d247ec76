"""Narratives: grounded in the synced transactions, honest when they explain nothing, and an
optional chat provider that never sees a name and cannot slip in a number of its own."""

import json
import socket
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from budgeting.variance.narratives.facts import VarianceFacts
from budgeting.variance.narratives.local import (
    NOT_RECONCILED,
    drivers_analyse,
    format_percent,
)
from budgeting.variance.narratives.provider import (
    SYSTEM_PROMPT,
    NameMasking,
    NarrativeGenerator,
    OpenAICompatibleGenerator,
    narrative_generator_default,
    number_unverified,
    numbers_allowed,
    numbers_directed,
)
from core.money import amount_in_prose
from core.months import add_months
from tests.budgeting.variance.facts import (
    OCTOBER,
    SEPTEMBER,
    build_facts,
    campaign_facts,
    explain,
)
from tests.fake_chat import FakeChatEndpoint


def driver_kinds(narrative) -> list[str]:
    return [driver["kind"] for driver in narrative.drivers]


def test_one_off_campaign_is_named_with_its_amount():
    narrative = explain(campaign_facts())
    assert narrative.text == (
        "Marketing is 4,200 (38%) over budget in September 2025, almost all from one bill from "
        'Brightwave Media for "Autumn campaign" (4,100). Without it, spend was on budget. '
        "Marketing was 11,000, 11,000 and 11,000 from June to August 2025, and 10,500 in "
        "September 2024. Nothing from Brightwave Media appears in the synced months before, so "
        "this looks like a one-off and is unlikely to recur."
    )
    assert narrative.generator == "local"
    assert driver_kinds(narrative) == ["one_off", "residual"]
    assert narrative.drivers[0]["contact_name"] == "Brightwave Media"
    assert narrative.drivers[0]["impact"] == "4100.00"
    assert narrative.drivers[1]["impact"] == "100.00"


def test_lost_customer_makes_revenue_under_budget_and_is_likely_to_continue():
    narrative = explain(
        build_facts(
            name="Sales",
            account_type="SALES",
            budget="30000",
            contacts={
                "Acme Ltd": ("Monthly retainer", ["10000"] * 6 + ["0"]),
                "Beta Holdings": ("Support contract", ["12000"] * 7),
                "Gamma Ltd": ("Licences", ["8000"] * 7),
            },
        )
    )
    assert narrative.text.startswith(
        "Sales are 10,000 (33%) under budget in September 2025, almost all because Acme Ltd had "
        "no transactions this month, against an average of 10,000 a month from March to August "
        "2025."
    )
    assert "Unless Acme Ltd returns, this is likely to continue." in narrative.text
    assert "Beta Holdings" not in narrative.text
    assert driver_kinds(narrative) == ["lost_contact", "residual"]


def test_price_rise_from_the_same_supplier_is_likely_to_continue():
    narrative = explain(
        build_facts(
            name="Hosting",
            account_type="OVERHEADS",
            budget="2500",
            contacts={
                "Cloudnine Hosting": ("Servers", ["2000"] * 6 + ["2800"]),
                "Domain Co": ("Domains", ["500"] * 7),
            },
        )
    )
    assert narrative.text.startswith(
        "Hosting is 800 (32%) over budget in September 2025, almost all from higher amounts with "
        "Cloudnine Hosting (2,800 this month against an average of 2,000 a month from March to "
        "August 2025)."
    )
    assert "The higher amounts with Cloudnine Hosting are likely to continue." in narrative.text
    assert driver_kinds(narrative) == ["price_rise", "residual"]


def test_new_customer_is_named_with_when_it_started():
    narrative = explain(
        build_facts(
            name="Sales",
            account_type="SALES",
            budget="12000",
            contacts={
                "Beta Holdings": ("Support contract", ["12000"] * 7),
                "Delta Foods": ("Catering supplies", ["0"] * 4 + ["5000"] * 3),
            },
        )
    )
    assert narrative.text.startswith(
        "Sales are 5,000 (42%) over budget in September 2025, almost all from a new customer, "
        "Delta Foods, since July 2025 (5,000 this month)."
    )
    assert "likely to continue while Delta Foods stays a customer" in narrative.text
    assert driver_kinds(narrative) == ["new_contact", "residual"]


def test_two_drivers_are_both_named_and_the_rest_is_reported_as_unexplained():
    narrative = explain(
        build_facts(
            name="Marketing",
            account_type="EXPENSE",
            budget="10000",
            contacts={
                "Google Ads": ("Search ads", ["6000"] * 6 + ["6800"]),
                "Brightwave Media": ("Autumn campaign", ["0"] * 6 + ["2000"]),
                "Print House": ("Flyers", ["4000"] * 6 + ["4000"]),
            },
            unsynced="1500",
        )
    )
    assert narrative.text.startswith(
        "Marketing is 4,300 (43%) over budget in September 2025, mostly from one bill from "
        'Brightwave Media for "Autumn campaign" (2,000) and from higher amounts with Google Ads '
        "(6,800 this month against an average of 6,000 a month from March to August 2025)."
    )
    assert (
        "The other 1,500 has no single clear driver in the synced transactions." in narrative.text
    )
    assert driver_kinds(narrative) == ["one_off", "price_rise", "residual"]


def test_variance_without_synced_transactions_is_reported_as_unexplained():
    narrative = explain(
        build_facts(
            name="Wages",
            account_type="EXPENSE",
            budget="17500",
            contacts={},
            period=OCTOBER,
            unsynced="19600",
            unsynced_before="17400",
        )
    )
    assert narrative.text == (
        "Wages are 2,100 (12%) over budget in October 2025. No transactions were synced for "
        "October 2025, so the data does not explain the difference. Wages were 17,400, 17,400 "
        "and 17,400 from July to September 2025."
    )
    assert driver_kinds(narrative) == ["residual"]


def test_variance_the_lines_do_not_account_for_is_reported_as_unexplained():
    # Ten suppliers, each a little up: no contact accounts for most of the difference.
    contacts = {f"Supplier {letter}": ("Stock", ["1000"] * 6 + ["1210"]) for letter in "ABCDEFGHIJ"}
    narrative = explain(
        build_facts(name="Purchases", account_type="DIRECTCOSTS", budget="10000", contacts=contacts)
    )
    assert narrative.text.startswith(
        "Purchases are 2,100 (21%) over budget in September 2025. The transactions synced for "
        "September 2025 do not explain the difference."
    )
    assert "Supplier" not in narrative.text
    assert "likely" not in narrative.text


def test_a_journal_outside_the_synced_lines_is_not_explained_by_them():
    facts = campaign_facts(unsynced="5000")
    narrative = explain(facts)
    assert "do not explain the difference" in narrative.text
    assert "Brightwave" not in narrative.text
    assert drivers_analyse(facts).reason == NOT_RECONCILED
    assert narrative.drivers == [
        {
            "kind": "residual",
            "contact_name": "",
            "description": NOT_RECONCILED,
            "amount": "0.00",
            "typical": "0.00",
            "impact": "9200.00",
            "document_type": "",
            "document_count": "0",
            "first_seen": None,
            "last_seen": None,
        }
    ]


def test_too_little_history_is_not_guessed_at():
    narrative = explain(campaign_facts(synced_from=add_months(SEPTEMBER, -2)))
    assert "Too few months before September 2025 are synced" in narrative.text
    assert "one-off" not in narrative.text


def test_the_same_data_gives_the_same_narrative_whatever_the_order():
    first = explain(campaign_facts())
    assert explain(campaign_facts()) == first
    for seed in (1, 2, 3):
        assert explain(campaign_facts(shuffle_seed=seed)) == first


def test_facts_are_stored_json_safe_with_numbers_as_strings():
    facts = campaign_facts()
    stored = json.loads(json.dumps(explain(facts).facts))
    assert stored["actual"] == "15200.00"
    assert stored["budget"] == "11000.00"
    assert stored["variance"] == "4200.00"
    assert stored["percent"] == "38.2"
    assert stored["favourable"] is False
    assert stored["period"] == "2025-09-01"
    assert stored["transactions_total"] == "15200.00"
    assert len(stored["prior_months"]) == 6
    assert stored["lines"][-1] == {
        "date": "2025-09-12",
        "contact_name": "Brightwave Media",
        "description": "Autumn campaign",
        "amount": "4100.00",
        "document_type": "ACCPAY",
        "document_number": "PAY-2509-2",
    }
    assert [p["actual"] for p in stored["trend"]["recent"]] == ["11000.00"] * 3
    assert stored["trend"]["same_month_last_year"]["actual"] == "10500.00"


@pytest.mark.parametrize(
    "facts",
    [
        campaign_facts(),
        campaign_facts(unsynced="5000"),
        campaign_facts(unsynced="1500"),
        build_facts(
            name="Travel",
            account_type="EXPENSE",
            budget="1000",
            contacts={"Air NZ": ("Flights", ["0", "1000", "0", "2000", "0", "0", "4000"])},
        ),
        build_facts(
            name="Consulting",
            account_type="REVENUE",
            budget="0",
            contacts={"Orbit Ltd": ("Advisory", ["0"] * 6 + ["2500.55"])},
        ),
    ],
    ids=["one-off", "journal", "residual", "irregular", "no-budget"],
)
def test_every_number_in_a_local_narrative_is_in_its_facts_or_drivers(facts):
    narrative = explain(facts)
    allowed = numbers_allowed({"facts": narrative.facts, "drivers": narrative.drivers})
    assert number_unverified(narrative.text, allowed=allowed) is None


def test_number_formatting():
    assert amount_in_prose(Decimal("4200")) == "4,200"
    assert amount_in_prose(Decimal("1234567.5")) == "1,234,567.50"
    assert amount_in_prose(Decimal("-950.00")) == "-950"
    assert format_percent(Decimal("38.2")) == "38%"
    assert format_percent(Decimal("0.4")) == "0.4%"


def test_number_check_reads_separators_percents_and_decimals():
    allowed = numbers_allowed({"variance": "4200.00", "percent": "38.2", "period": "2025-09-01"})
    assert number_unverified("4,200 (38%) in September 2025", allowed=allowed) is None
    assert number_unverified("4,200.00 or 38.2% on 1 September", allowed=allowed) is None
    assert number_unverified("about 4,300 over budget", allowed=allowed) == "4,300"
    assert number_unverified("38.5% over", allowed=allowed) == "38.5"
    assert number_unverified("in 2024", allowed=allowed) == "2024"


# The optional provider, against a real HTTP server on 127.0.0.1 that plays the chat endpoint
# (the chat_endpoint fixture, tests/budgeting/variance/conftest.py).


def provider(endpoint: FakeChatEndpoint, **kwargs: Any) -> OpenAICompatibleGenerator:
    options = {"base_url": endpoint.base_url, "api_key": "sk-test", "model": "test-model"}
    options.update(kwargs)
    return OpenAICompatibleGenerator(**options)


def grounded_answer(payload: dict[str, Any]) -> str:
    """What a well-behaved model writes: only the numbers and placeholders it was given."""
    driver = payload["drivers"][0]
    return (
        f"Marketing is 4,200 (38%) over budget in September 2025, almost all from one bill "
        f"from {driver['contact_name']} for the autumn campaign (4,100). It is unlikely to recur."
    )


def sensitive_campaign_facts() -> VarianceFacts:
    return build_facts(
        name="Marketing",
        account_type="EXPENSE",
        budget="11000",
        contacts={
            "Google Ads": ("Search ads", ["8000"] * 6 + ["8100"]),
            "Hootsuite": ("Copywriting by Sam Taylor", ["3000"] * 7),
            "Brightwave Media": ("Autumn campaign by Brightwave Media", ["0"] * 6 + ["4100"]),
        },
        person_names=("Sam Taylor",),
    )


def test_provider_never_receives_real_names(chat_endpoint):
    chat_endpoint.answer_with(grounded_answer)
    with httpx.Client() as client:
        provider(chat_endpoint, http_client=client).explain(sensitive_campaign_facts())
    [body] = chat_endpoint.received
    sent = body.decode()
    for name in ("Google Ads", "Hootsuite", "Brightwave", "Sam Taylor", "acc-1"):
        assert name not in sent
    payload = json.loads(json.loads(sent)["messages"][-1]["content"])
    assert payload["drivers"][0]["contact_name"] == "Contact 3"
    assert payload["facts"]["lines"][-1]["description"] == "Autumn campaign by Contact 3"
    assert "Copywriting by Person 1" in sent
    assert "person_names" not in payload["facts"]
    assert chat_endpoint.headers[0]["Authorization"] == "Bearer sk-test"


def test_provider_answer_has_the_names_restored(chat_endpoint):
    chat_endpoint.answer_with(grounded_answer)
    facts = sensitive_campaign_facts()
    narrative = provider(chat_endpoint).explain(facts)
    assert narrative.generator == "openai-compatible (test-model)"
    assert narrative.text == (
        "Marketing is 4,200 (38%) over budget in September 2025, almost all from one bill from "
        "Brightwave Media for the autumn campaign (4,100). It is unlikely to recur."
    )
    # Stored with the real facts and the drivers the provider was given.
    assert narrative.facts == facts.to_dict()
    assert narrative.drivers[0]["contact_name"] == "Brightwave Media"


def test_provider_answer_with_an_invented_number_falls_back_to_local(chat_endpoint):
    chat_endpoint.answer_with(
        lambda payload: "Marketing is 4,200 (38%) over budget, mostly a 5,300 campaign."
    )
    facts = sensitive_campaign_facts()
    narrative = provider(chat_endpoint).explain(facts)
    assert narrative.generator == "local (fallback: unverified number 5,300)"
    assert narrative.text == explain(facts).text
    assert "5,300" not in narrative.text


def test_provider_answer_with_an_unknown_placeholder_falls_back(chat_endpoint):
    chat_endpoint.answer_with(
        lambda payload: "Marketing is 4,200 over budget because of Contact 9."
    )
    narrative = provider(chat_endpoint).explain(sensitive_campaign_facts())
    assert narrative.generator == "local (fallback: unknown name Contact 9)"


def test_provider_http_error_falls_back(chat_endpoint):
    chat_endpoint.reply = lambda request: (500, b'{"error": "overloaded"}')
    facts = sensitive_campaign_facts()
    narrative = provider(chat_endpoint).explain(facts)
    assert narrative.generator == "local (fallback: HTTP 500)"
    assert narrative.text == explain(facts).text
    assert len(chat_endpoint.received) == 1


def test_an_endpoint_inside_the_network_is_refused_when_sending(chat_endpoint, settings):
    # Saved before the guard existed, or resolving elsewhere since: refused at request time,
    # with the local narrative instead, and nothing reaches the internal address.
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    chat_endpoint.answer_with(grounded_answer)
    for host in ("127.0.0.1", "localhost"):
        base_url = chat_endpoint.base_url.replace("127.0.0.1", host)
        generator = provider(chat_endpoint, base_url=base_url)
        narrative = generator.explain(sensitive_campaign_facts())
        assert narrative.fallback.startswith("endpoint refused: The host")
        assert "127.0.0.1, a loopback address" in narrative.fallback
    metadata = provider(chat_endpoint, base_url="http://169.254.169.254/latest")
    assert "a cloud metadata service" in metadata.explain(sensitive_campaign_facts()).fallback
    assert chat_endpoint.received == []


def test_the_provider_follows_no_redirect(chat_endpoint):
    chat_endpoint.reply = lambda request: (302, b"{}")
    narrative = provider(chat_endpoint).explain(sensitive_campaign_facts())
    assert narrative.fallback == "HTTP 302"
    assert len(chat_endpoint.received) == 1


def test_provider_timeout_falls_back(chat_endpoint):
    chat_endpoint.answer_with(grounded_answer)
    chat_endpoint.delay = 1.0
    started = time.monotonic()
    narrative = provider(chat_endpoint, timeout=0.2).explain(sensitive_campaign_facts())
    assert narrative.generator == "local (fallback: timeout)"
    assert time.monotonic() - started < 1.0


def test_provider_malformed_response_falls_back(chat_endpoint):
    chat_endpoint.reply = lambda request: (200, b"<html>not json</html>")
    narrative = provider(chat_endpoint).explain(sensitive_campaign_facts())
    assert narrative.generator == "local (fallback: malformed response)"


def test_provider_is_not_asked_to_explain_what_the_data_does_not(chat_endpoint):
    chat_endpoint.answer_with(lambda payload: "Marketing is over budget because of a new hire.")
    facts = campaign_facts(unsynced="5000")
    narrative = provider(chat_endpoint).explain(facts)
    assert narrative.generator == "local (fallback: the data does not explain the variance)"
    assert narrative.text == explain(facts).text
    assert chat_endpoint.received == []


def test_provider_unreachable_falls_back(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    generator = OpenAICompatibleGenerator(
        base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", model="test-model", timeout=2
    )
    narrative = generator.explain(sensitive_campaign_facts())
    assert narrative.generator == "local (fallback: connection error (ConnectError))"


def test_generators_share_one_interface(chat_endpoint):
    generators: list[NarrativeGenerator] = [narrative_generator_default(), provider(chat_endpoint)]
    for generator in generators:
        assert generator.explain(campaign_facts()).text


# Everyone's names and addresses are masked, and the request is exactly what the test expects:
# nothing else leaves the app.


def studio_facts() -> VarianceFacts:
    """A design account 3,000 over budget from one bill; the descriptions name a contact's
    person, a firm user by first name and in full, and two email addresses."""
    return build_facts(
        name="Design",
        account_type="EXPENSE",
        budget="1000",
        contacts={
            "Sam Taylor Studio": (
                "Retainer, questions to sam@taylor.studio",
                ["0", "0", "0", "1000", "1000", "1000", "1000"],
            ),
            "Pixel & Co": (
                "Brand refresh for Sam by Ana Reid (ana.reid@alder.example)",
                ["0"] * 6 + ["3000"],
            ),
        },
        synced_from=add_months(SEPTEMBER, -3),
        person_names=("Ana Reid", "Sam Taylor"),
        contact_names=("Pixel & Co", "Sam Taylor Studio", "Harbour Lane Café"),
        emails=("ana.reid@alder.example",),
    )


def _line(day: str, number: str, contact: str, description: str, amount: str) -> dict[str, str]:
    return {
        "amount": amount,
        "contact_name": contact,
        "date": day,
        "description": description,
        "document_number": number,
        "document_type": "ACCPAY",
    }


RETAINER = "Retainer, questions to Email 2"
REFRESH = "Brand refresh for Person 3 by Person 1 (Email 1)"
STUDIO_PAYLOAD = {
    "drivers": [
        {
            "amount": "3000.00",
            "contact_name": "Contact 2",
            "description": REFRESH,
            "document_count": "1",
            "document_type": "ACCPAY",
            "first_seen": None,
            "impact": "3000.00",
            "kind": "one_off",
            "last_seen": None,
            "typical": "0.00",
        },
        {
            "amount": "0.00",
            "contact_name": "",
            "description": "",
            "document_count": "0",
            "document_type": "",
            "first_seen": None,
            "impact": "0.00",
            "kind": "residual",
            "last_seen": None,
            "typical": "0.00",
        },
    ],
    "facts": {
        "account_class": "EXPENSE",
        "account_code": "400",
        "account_name": "Design",
        "account_type": "EXPENSE",
        "actual": "4000.00",
        "budget": "1000.00",
        "currency_code": "NZD",
        "favourable": False,
        "lines": [
            _line("2025-09-10", "PAY-2509-0", "Contact 1", RETAINER, "1000.00"),
            _line("2025-09-11", "PAY-2509-1", "Contact 2", REFRESH, "3000.00"),
        ],
        "percent": "300.0",
        "period": "2025-09-01",
        "prior_months": [
            {
                "lines": [
                    _line(f"2025-0{m}-10", f"PAY-250{m}-0", "Contact 1", RETAINER, "1000.00")
                ],
                "period": f"2025-0{m}-01",
            }
            for m in (6, 7, 8)
        ],
        "threshold": {"floor": "500", "percent": "10"},
        "transactions_total": "4000.00",
        "trend": {
            "recent": [
                {"actual": "1000.00", "budget": "1000.00", "period": f"2025-0{m}-01"}
                for m in (6, 7, 8)
            ],
            "same_month_last_year": None,
        },
        "unexplained": "0.00",
        "variance": "3000.00",
    },
}


def test_the_provider_receives_exactly_the_masked_facts_and_nothing_else(chat_endpoint):
    chat_endpoint.answer_with(
        lambda payload: (
            "Design is 3,000 (300%) over budget in September 2025, almost all from "
            "one bill from Contact 2 for a brand refresh by Person 1 (3,000)."
        )
    )

    narrative = provider(chat_endpoint).explain(studio_facts())

    [body] = chat_endpoint.received
    request = json.loads(body)
    assert request == {
        "model": "test-model",
        "temperature": 0,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": json.dumps(STUDIO_PAYLOAD, sort_keys=True)},
        ],
    }
    sent = body.decode()
    for leak in ("Sam", "Taylor", "Ana", "Reid", "Pixel", "alder", "@", "Harbour", "acc-1"):
        assert leak not in sent
    assert narrative.fallback == ""
    assert narrative.text == (
        "Design is 3,000 (300%) over budget in September 2025, almost all from one bill from "
        "Pixel & Co for a brand refresh by Ana Reid (3,000)."
    )


def test_firm_members_and_contacts_are_masked_whatever_the_case_and_emails_whoever_owns_them():
    masking = NameMasking(
        contact_names=["Brightwave Media"],
        person_names=["Sam Taylor"],
        emails=["owner@alder.example"],
        keep_words=["Rent"],
    )

    masked = masking.mask(
        "SAM TAYLOR and brightwave media; Sam alone; sam lower; write to owner@alder.example "
        "or s.t+ads@brightwave.co.nz"
    )

    # A first name alone is a person of its own: unmasked, it is the word it stood for.
    assert masked == (
        "Person 1 and Contact 1; Person 2 alone; sam lower; write to Email 1 or Email 2"
    )
    assert masking.unmask("Email 2, Person 1 and Person 2") == (
        "s.t+ads@brightwave.co.nz, Sam Taylor and Sam"
    )


def test_a_person_named_like_the_account_does_not_mask_the_account():
    masking = NameMasking(contact_names=[], person_names=["Grant Rent"], keep_words=["Rent"])

    masked = masking.mask("Rent for Grant Rent; Grant paid the Rent")

    assert masked == "Rent for Person 1; Person 2 paid the Rent"
    assert masking.unmask(masked) == "Rent for Grant Rent; Grant paid the Rent"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        # The right digits with the wrong sign: 3,000 over budget, not under.
        (
            "Design is 3,000 (300%) under budget in September 2025 because of Contact 2.",
            "unverified number 3,000 under budget",
        ),
        (
            "Design moved by -3,000 in September 2025 because of Contact 2.",
            "unverified number -3,000",
        ),
        # The right digits at the wrong magnitude.
        ("Design is 3,000k over budget because of Contact 2.", "unverified number 3,000k"),
        ("Design is 3 million over budget because of Contact 2.", "unverified number 3 million"),
    ],
    ids=["direction", "minus", "thousands", "millions"],
)
def test_a_number_with_the_wrong_sign_or_magnitude_falls_back_with_the_reason(
    chat_endpoint, answer, reason
):
    chat_endpoint.answer_with(lambda payload: answer)
    facts = studio_facts()

    narrative = provider(chat_endpoint).explain(facts)

    assert narrative.fallback == reason
    assert narrative.generator == f"local (fallback: {reason})"
    assert narrative.text == explain(facts).text


def test_the_number_check_reads_signs_scales_and_directions():
    allowed = numbers_allowed({"variance": "-4200.00", "percent": "-38.2", "actual": "6800.00"})
    directed = numbers_directed({"variance": "-4200.00", "percent": "-38.2"}, [])

    def check(text):
        return number_unverified(text, allowed=allowed, directed=directed)

    assert check("Sales are 4,200 (38%) under budget at 6,800.") is None
    assert check("Sales moved by -4,200, or 4.2k below the budget.") is None
    assert check("Sales are 4,200 (38%) over budget.") == "4,200 over budget"
    assert check("Sales moved by +4,200.") == "+4,200"
    assert check("Sales are 6.8 thousand.") is None
    assert check("Sales are 68 thousand.") == "68 thousand"
    assert check("Sales fell on 2025-09-01.") == "2025"
