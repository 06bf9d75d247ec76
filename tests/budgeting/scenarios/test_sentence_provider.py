"""The optional chat-model reading of a sentence the parser cannot read, against a real HTTP
server on 127.0.0.1 that plays the firm's OpenAI-compatible endpoint (tests/fake_chat.py): off
unless the firm turned its narrative provider on, names masked, the answer checked as a typed
adjustment, shown for the user to confirm, and a timeout or a bad answer leaves the parser's
reading. Always with two firms: firm B's provider is never used for firm A."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from budgeting.models import ScenarioAdjustment
from budgeting.scenarios import services
from budgeting.scenarios.maths import Change, ChartAccount, Per
from budgeting.scenarios.sentences import adjustments_from_json, scenario_months, sentence_parse
from tenants.roles import Role
from tests.api import bearer
from tests.budgeting.draft_data import NOVEMBER, draft_organisation_create
from tests.budgeting.screens import login, text
from tests.factories import NarrativeProviderSettingsFactory, api_key_create

# Nothing in it is a phrase the parser knows: it reads no change at all.
SENTENCE = "go easy on promotion after Christmas, as {name} suggested"
GOOD = {
    "adjustments": [
        {
            "accounts": ["400"],
            "percent": "-10",
            "amount": None,
            "per": None,
            "set_to": None,
            "from": "2027-01",
            "to": "2027-10",
        }
    ]
}
MONTHS = scenario_months(NOVEMBER, 12)
CHART = [
    ChartAccount(1, "200", "Sales", "REVENUE", "REVENUE"),
    ChartAccount(2, "400", "Advertising", "EXPENSE", "EXPENSE"),
    ChartAccount(3, "", "Bank Fees", "EXPENSE", "EXPENSE"),
    ChartAccount(4, "090", "Business Bank", "BANK", "ASSET"),
]


def url(cast, name, *args):
    return reverse(name, args=[cast.firm.slug, cast.organisation.pk, *args])


@pytest.fixture
def organisation_a(firm_a):
    return draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)


@pytest.fixture
def organisation_b(firm_b):
    return draft_organisation_create(firm=firm_b.firm, organisation=firm_b.organisation)


def _scenario(cast, data):
    return services.scenario_create(
        firm=cast.firm,
        organisation=cast.organisation,
        name="Quieter year",
        first_period=NOVEMBER,
        months=12,
        base_budget=data.overall,
        user=cast.member(Role.PREPARER).user,
    )


def _provider_on(cast, endpoint, key="sk-alder-secret", model="test-model"):
    return NarrativeProviderSettingsFactory(
        firm=cast.firm, enabled=True, base_url=endpoint.base_url, model=model, api_key=key
    )


def _sentence(cast):
    return SENTENCE.format(name=cast.member(Role.PREPARER).user.full_name)


def _answers(endpoint, answer):
    endpoint.answer_with(lambda payload: answer if isinstance(answer, str) else json.dumps(answer))


def _saved(cast, scenario):
    return ScenarioAdjustment.objects.for_firm(cast.firm).filter(scenario=scenario)


def test_the_parser_alone_reads_nothing_in_the_sentence():
    read = sentence_parse(SENTENCE.format(name="Sam Taylor"), chart=CHART, months=MONTHS)
    assert read.adjustments == []
    assert read.unread == read.problems
    assert read.problems[0].startswith("Nothing in that sentence could be read as a change")


def test_with_the_provider_off_nothing_leaves_the_app(
    client, firm_a, organisation_a, chat_endpoint
):
    _answers(chat_endpoint, GOOD)
    scenario = _scenario(firm_a, organisation_a)
    login(client, firm_a)
    # No settings at all (every firm's start), then filled in but left off.
    settings_states = [
        lambda: None,
        lambda: NarrativeProviderSettingsFactory(
            firm=firm_a.firm, enabled=False, base_url=chat_endpoint.base_url, model="test-model"
        ),
    ]
    for settings_state in settings_states:
        settings_state()
        response = client.post(
            url(firm_a, "scenario_sentence", scenario.pk), {"sentence": _sentence(firm_a)}
        )
        assert response.status_code == 400
        page = response.content.decode()
        assert "Nothing in that sentence could be read as a change" in page
        assert "read by" not in page and "provider_read" not in page
    assert chat_endpoint.received == []


def test_what_the_model_reads_is_shown_then_applied_only_when_confirmed(
    client, firm_a, organisation_a, chat_endpoint
):
    _provider_on(firm_a, chat_endpoint)
    _answers(chat_endpoint, GOOD)
    scenario = _scenario(firm_a, organisation_a)
    login(client, firm_a)
    sentence = _sentence(firm_a)
    page = text(client.post(url(firm_a, "scenario_sentence", scenario.pk), {"sentence": sentence}))
    assert "400 Advertising down 10% from Jan 2027 to Oct 2027" in page
    assert "read by test-model, check before confirming" in page
    assert "The parser could not read this, test-model did" in page
    assert "Confirm and apply" in page
    assert not _saved(firm_a, scenario).exists()

    # What left the app: the sentence with the person's name masked, the part unread, the
    # months and the chart's codes, names, classes and types; no figure of the books.
    (body,) = chat_endpoint.received
    request = json.loads(body)
    assert request["model"] == "test-model"
    payload = json.loads(request["messages"][-1]["content"])
    name = firm_a.member(Role.PREPARER).user.full_name
    assert name not in body.decode()
    person = re.fullmatch(SENTENCE.format(name=r"(Person \d+)"), payload["sentence"]).group(1)
    assert payload["not_read"] == ["go easy", "promotion after Christmas", f"{person} suggested"]
    assert payload["read"] == []
    assert (payload["first_month"], payload["last_month"]) == ("2026-11", "2027-10")
    assert {"code": "469", "name": "Rent", "class": "EXPENSE", "type": "EXPENSE"} in payload[
        "accounts"
    ]
    assert "5000" not in body.decode() and "50000" not in body.decode()
    assert chat_endpoint.headers[0]["Authorization"] == "Bearer sk-alder-secret"

    # Confirming applies what was shown, and sends nothing more.
    shown = page.split('name="provider_read" value="')[1].split('"')[0]
    provider_read = json.loads(shown.replace("&quot;", '"'))
    confirmed = client.post(
        url(firm_a, "scenario_sentence", scenario.pk),
        {"sentence": sentence, "confirm": "1", "provider_read": json.dumps(provider_read)},
    )
    assert confirmed.status_code == 302
    (row,) = _saved(firm_a, scenario)
    assert row.account_ids == [organisation_a.accounts["400"].pk]
    assert (row.change, row.value) == (Change.PERCENT, Decimal("-10.00"))
    assert (row.first_period, row.last_period) == (dt.date(2027, 1, 1), dt.date(2027, 10, 1))
    assert len(chat_endpoint.received) == 1
    # The audit log says which model read it, beside who confirmed it.
    audit = text(client.get(url(firm_a, "audit_log"), {"model": "scenarioadjustment"}))
    assert (
        "400 Advertising down 10% from Jan 2027 to Oct 2027 (read by test-model, confirmed)"
        in audit
    )


def test_a_part_left_unread_beside_what_the_parser_read(
    client, firm_a, organisation_a, chat_endpoint
):
    _provider_on(firm_a, chat_endpoint)
    _answers(chat_endpoint, GOOD)
    scenario = _scenario(firm_a, organisation_a)
    login(client, firm_a)
    page = text(
        client.post(
            url(firm_a, "scenario_sentence", scenario.pk),
            {"sentence": "increase sales by 10% and ease off on promo spend"},
        )
    )
    assert "Revenue up 10% from Nov 2026 to Oct 2027" in page
    assert "400 Advertising down 10% from Jan 2027 to Oct 2027" in page
    payload = json.loads(json.loads(chat_endpoint.received[0])["messages"][-1]["content"])
    assert payload["not_read"] == ["ease off", "promo spend"]
    assert payload["read"][0]["accounts"] == ["200"]


def test_a_provider_without_a_key_is_asked_without_one(
    client, firm_a, organisation_a, chat_endpoint
):
    _provider_on(firm_a, chat_endpoint, key="")
    _answers(chat_endpoint, GOOD)
    scenario = _scenario(firm_a, organisation_a)
    login(client, firm_a)
    page = text(
        client.post(url(firm_a, "scenario_sentence", scenario.pk), {"sentence": _sentence(firm_a)})
    )
    assert "read by test-model, check before confirming" in page
    assert "Authorization" not in chat_endpoint.headers[0]


def test_a_sentence_the_parser_reads_whole_is_not_sent(
    client, firm_a, organisation_a, chat_endpoint
):
    _provider_on(firm_a, chat_endpoint)
    scenario = _scenario(firm_a, organisation_a)
    login(client, firm_a)
    for sentence in ("increase sales by 10%", "cut advertising by 150%"):
        client.post(url(firm_a, "scenario_sentence", scenario.pk), {"sentence": sentence})
    assert chat_endpoint.received == []


@pytest.mark.parametrize(
    ("answer", "note"),
    [
        ("Sure! Advertising goes down by 10%.", "test-model's answer was not JSON"),
        ({"changes": []}, "test-model's answer had no list of adjustments"),
        (
            {"adjustments": [{**GOOD["adjustments"][0], "accounts": ["999"]}]},
            "test-model's adjustment 1 is ignored: “999” is not an account of this organisation",
        ),
        (
            {"adjustments": [{**GOOD["adjustments"][0], "percent": "-150"}]},
            "a cut is at most 100%",
        ),
        (
            {"adjustments": [{**GOOD["adjustments"][0], "to": "2028-06"}]},
            "is outside the scenario's months (Nov 2026 to Oct 2027)",
        ),
        (
            {"adjustments": [{**GOOD["adjustments"][0], "amount": "500"}]},
            "it must give one of a percent, an amount or a figure to set",
        ),
    ],
)
def test_a_bad_answer_is_ignored_with_the_reason(
    client, firm_a, organisation_a, chat_endpoint, answer, note
):
    _provider_on(firm_a, chat_endpoint)
    _answers(chat_endpoint, answer)
    scenario = _scenario(firm_a, organisation_a)
    login(client, firm_a)
    response = client.post(
        url(firm_a, "scenario_sentence", scenario.pk), {"sentence": _sentence(firm_a)}
    )
    page = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 400
    assert note in page
    assert "Nothing in that sentence could be read as a change" in page
    assert "Confirm and apply" not in page and "read by test-model" not in page
    assert not _saved(firm_a, scenario).exists()


def test_a_timeout_leaves_the_parsers_reading_with_a_note(
    client, firm_a, organisation_a, chat_endpoint, settings
):
    settings.SCENARIO_SENTENCE_PROVIDER_TIMEOUT = 0.2
    _provider_on(firm_a, chat_endpoint)
    _answers(chat_endpoint, GOOD)
    chat_endpoint.delay = 1.0
    scenario = _scenario(firm_a, organisation_a)
    login(client, firm_a)
    response = client.post(
        url(firm_a, "scenario_sentence", scenario.pk),
        {"sentence": "increase sales by 10% and ease off on promo spend"},
    )
    page = response.content.decode()
    assert "test-model could not be asked (timeout): this is the parser" in page
    assert "Revenue up 10% from Nov 2026 to Oct 2027" in page
    assert "Advertising" not in page.split('id="read-adjustments"')[1].split("</ul>")[0]
    assert "ease off on promo spend" in page  # still marked as not understood
    assert not _saved(firm_a, scenario).exists()


def test_a_reading_posted_back_is_checked_again_and_needs_the_provider_on(
    client, firm_a, organisation_a, chat_endpoint
):
    scenario = _scenario(firm_a, organisation_a)
    login(client, firm_a)
    forged = {"adjustments": [{**GOOD["adjustments"][0], "percent": "-150"}]}
    good = json.dumps(GOOD)
    # Off: a reading posted back is not used at all.
    off = client.post(
        url(firm_a, "scenario_sentence", scenario.pk),
        {"sentence": _sentence(firm_a), "confirm": "1", "provider_read": good},
    )
    assert off.status_code == 400
    _provider_on(firm_a, chat_endpoint)
    forged_post = client.post(
        url(firm_a, "scenario_sentence", scenario.pk),
        {"sentence": _sentence(firm_a), "confirm": "1", "provider_read": json.dumps(forged)},
    )
    assert forged_post.status_code == 400
    assert "a cut is at most 100%" in forged_post.content.decode()
    assert not _saved(firm_a, scenario).exists()
    assert chat_endpoint.received == []


def test_firm_bs_provider_is_never_used_for_firm_a(
    client, firm_a, firm_b, organisation_a, organisation_b, chat_endpoint
):
    _provider_on(firm_b, chat_endpoint, key="sk-birch-secret", model="birch-model")
    _answers(chat_endpoint, GOOD)
    scenario = _scenario(firm_a, organisation_a)
    login(client, firm_a)
    page = client.post(
        url(firm_a, "scenario_sentence", scenario.pk), {"sentence": _sentence(firm_a)}
    ).content.decode()
    assert "birch-model" not in page
    assert chat_endpoint.received == []

    _provider_on(firm_a, chat_endpoint, key="sk-alder-secret", model="alder-model")
    page = text(
        client.post(url(firm_a, "scenario_sentence", scenario.pk), {"sentence": _sentence(firm_a)})
    )
    assert "read by alder-model" in page
    assert [h["Authorization"] for h in chat_endpoint.headers] == ["Bearer sk-alder-secret"]
    # Firm B's people see none of firm A's scenario, and its sentence box there is a 404.
    login(client, firm_b)
    sentence_b = url(firm_b, "scenario_sentence", scenario.pk)
    assert client.post(sentence_b, {"sentence": _sentence(firm_b)}).status_code == 404
    assert len(chat_endpoint.received) == 1


def test_the_api_read_marks_what_the_model_read(
    client, firm_a, firm_b, organisation_a, organisation_b, chat_endpoint, settings
):
    _provider_on(firm_a, chat_endpoint)
    _provider_on(firm_b, chat_endpoint, key="sk-birch-secret", model="birch-model")
    _answers(chat_endpoint, GOOD)
    key_a = api_key_create(firm=firm_a.firm)[1]
    key_b = api_key_create(firm=firm_b.firm)[1]
    base = f"/api/v1/organisations/{firm_a.organisation.public_id}/scenarios"
    body = {
        "sentence": "increase sales by 10% and ease off on promo spend",
        "first_period": "2026-11",
        "months": 12,
    }
    read = client.post(
        base + "/read/", body, headers=bearer(key_a), content_type="application/json"
    )
    assert read.status_code == 200, read.content
    assert read.json()["adjustments"] == [
        {
            "accounts": ["200"],
            "percent": "10",
            "amount": None,
            "per": None,
            "set_to": None,
            "from": "2026-11",
            "to": "2027-10",
        },
        {**GOOD["adjustments"][0], "read_by": "test-model"},
    ]
    assert read.json()["not_understood"] == ["ease off", "promo spend"]
    assert [h["Authorization"] for h in chat_endpoint.headers] == ["Bearer sk-alder-secret"]
    # Firm B's key cannot read firm A's organisation, and sends nothing.
    other = client.post(
        base + "/read/", body, headers=bearer(key_b), content_type="application/json"
    )
    assert other.status_code == 404
    # A timeout: the parser's reading, with the note.
    chat_endpoint.delay = 1.0
    settings.SCENARIO_SENTENCE_PROVIDER_TIMEOUT = 0.2
    slow = client.post(
        base + "/read/", body, headers=bearer(key_a), content_type="application/json"
    )
    assert [a["accounts"] for a in slow.json()["adjustments"]] == [["200"]]
    assert slow.json()["notes"] == [
        "test-model could not be asked (timeout): this is the parser's reading alone."
    ]
    # Creating from a sentence reads it with the parser alone: nothing is sent, nothing applied.
    write_key = api_key_create(
        firm=firm_a.firm, scopes=["read", "write"], member=firm_a.member(Role.PREPARER)
    )[1]
    created = client.post(
        base + "/",
        {
            "name": "Quieter year",
            "base": "budget",
            "budget_id": organisation_a.overall.budget_id,
            "first_period": "2026-11",
            "months": 12,
            "sentence": _sentence(firm_a),
        },
        headers=bearer(write_key),
        content_type="application/json",
    )
    assert created.status_code == 409
    assert len(chat_endpoint.received) == 2


# The check itself, pure.


def test_a_reading_names_accounts_by_code_or_a_codeless_name():
    answer = {
        "adjustments": [
            {"accounts": ["bank fees"], "amount": "-120", "per": "month"},
            {"accounts": ["200"], "set_to": 60000, "from": "2027-04", "to": "2027-06"},
        ]
    }
    read, reasons = adjustments_from_json(
        "```json\n" + json.dumps(answer) + "\n```", chart=CHART, months=MONTHS, read_by="m"
    )
    assert reasons == []
    fees, sales = read
    assert [a.code for a in fees.accounts] == [""]
    assert (fees.adjustment.value, fees.adjustment.per) == (Decimal("-120.00"), Per.MONTH)
    assert (fees.adjustment.first, fees.adjustment.last) == (MONTHS[0], MONTHS[-1])
    assert (sales.adjustment.change, sales.adjustment.per) == (Change.SET_TO, Per.MONTH)
    assert sales.as_json()["read_by"] == "m"
    assert sales.words == "read by m"


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"accounts": ["090"], "percent": "5"}, "“090” is not an account"),  # balance sheet
        ({"accounts": "200", "percent": "5"}, "it names no accounts"),
        ({"accounts": ["200"], "percent": True}, "its figure is not a number"),
        ({"accounts": ["200"], "percent": "lots"}, "its figure is not a number"),
        ({"accounts": ["200"], "percent": "1e30"}, "not a number it can use"),
        ({"accounts": ["200"], "percent": "NaN"}, "not a number it can use"),
        ({"accounts": ["200"], "amount": "5", "per": "week"}, "“per” must be month or total"),
        ({"accounts": ["200"], "percent": "5", "from": "2027-13"}, "is not a month"),
        ({"accounts": ["200"], "percent": "5", "from": "2027-06", "to": "2027-02"}, "reversed"),
        ({"accounts": ["200"], "percent": "5", "sql": "drop"}, "not in the adjustments' schema"),
        ("increase sales", "not in the adjustments' schema"),
    ],
)
def test_a_reading_that_cannot_apply_is_ignored_with_the_reason(item, reason):
    read, reasons = adjustments_from_json(
        json.dumps({"adjustments": [item]}), chart=CHART, months=MONTHS, read_by="m"
    )
    assert read == []
    (said,) = reasons
    assert said.startswith("m's adjustment 1 is ignored: ")
    assert reason in said
