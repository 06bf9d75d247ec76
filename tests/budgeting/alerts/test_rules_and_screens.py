"""Alert rules, the alert screens, their CSV and the partner API, with two firms in each: firm
B's members and keys never see firm A's rules or alerts. A rule that cannot work is refused with
the same words by the form and the API."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from budgeting.alerts.models import Alert, AlertDelivery, AlertRule
from budgeting.audit.selectors import AuditFilter, audit_headers
from budgeting.ledger.models import Account
from tenants.roles import Role
from tests.api import assert_error, bearer
from tests.budgeting.alert_data import alert_create, alert_rule_create
from tests.factories import api_key_create


@pytest.fixture
def account(firm_a):
    return Account.objects.for_firm(firm_a.firm).create(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        account_id="acc-400",
        code="400",
        name="Advertising",
        type="EXPENSE",
        account_class="EXPENSE",
    )


def _rules_url(cast):
    return reverse("alert_rules", args=[cast.firm.slug, cast.organisation.pk])


def test_a_rule_set_in_the_form_is_saved_with_its_recipients(client, firm_a, account):
    client.force_login(firm_a.member(Role.OWNER).user)
    member = firm_a.member(Role.PREPARER).user
    answer = client.post(
        _rules_url(firm_a),
        {
            "name": "Advertising pace",
            "threshold": "band",
            "accounts": [account.pk],
            "budget_owners": "on",
            "members": [member.pk],
            "emails": "cfo@harbourlane.example, Ops@Harbourlane.example",
            "slack_channel": "#cafe-finance",
            "quiet_from": "22:00",
            "quiet_until": "07:00",
            "active": "on",
        },
    )
    assert answer.status_code == 302, answer.content.decode()
    rule = AlertRule.objects.for_firm(firm_a.firm).get()
    assert rule.account_ids == [account.pk]
    assert rule.recipients == [
        {"kind": "budget_owners"},
        {"kind": "member", "user_id": member.pk},
        {"kind": "email", "email": "cfo@harbourlane.example"},
        {"kind": "email", "email": "ops@harbourlane.example"},
        {"kind": "slack_channel", "channel": "#cafe-finance"},
    ]
    # In the audit log, as a change a person made.
    headers = audit_headers(
        firm=firm_a.firm, organisation=firm_a.organisation, flt=AuditFilter(model="alertrule")
    )
    assert headers.count() == 1


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"threshold": "limit", "limit": "-5"}, "limit", "above zero"),
        ({"threshold": "limit"}, "limit", "needs its limit"),
        ({"threshold": "band", "limit": "500"}, "limit", "Only a fixed-limit rule"),
        ({"slack_channel": "finance alerts"}, None, "not a Slack channel name"),
        ({"quiet_from": "22:00"}, "quiet_until", "both ends"),
        ({"emails": "", "budget_owners": ""}, None, "at least one recipient"),
    ],
)
def test_a_rule_that_cannot_work_is_a_clear_form_error(
    client, firm_a, account, fields, field, words
):
    client.force_login(firm_a.member(Role.OWNER).user)
    data = {"name": "Bad", "threshold": "band", "accounts": [account.pk], "emails": "a@b.example"}
    data.update(fields)
    answer = client.post(_rules_url(firm_a), {k: v for k, v in data.items() if v != ""})
    assert answer.status_code == 400
    errors = answer.context["form"].errors
    assert any(words in message for message in errors.get(field or "__all__", [])), errors
    assert not AlertRule.objects.for_firm(firm_a.firm).exists()


def test_the_api_refuses_an_unknown_account_and_an_impossible_limit(
    client, firm_a, firm_b, account
):
    _key, secret = api_key_create(firm=firm_a.firm, scopes=("read", "write"))
    url = f"/api/v1/organisations/{firm_a.organisation.public_id}/alert-rules/"
    other = alert_rule_create(firm_b)  # firm B's account id is unknown in firm A
    body = {
        "name": "Advertising limit",
        "threshold": "limit",
        "limit": "0",
        "account_ids": [account.pk, other.account_ids[0]],
        "recipients": [{"kind": "email", "email": "cfo@example.com"}],
    }
    error = assert_error(
        client.post(url, body, content_type="application/json", headers=bearer(secret)),
        400,
        "invalid",
    )
    assert "No profit and loss account with id" in error["fields"]["account_ids"][0]
    assert "above zero" in error["fields"]["limit"][0]

    body.update(limit="1500.00", account_ids=[account.pk])
    created = client.post(url, body, content_type="application/json", headers=bearer(secret))
    assert created.status_code == 201, created.content
    assert created.json()["limit"] == "1500.00"
    listed = client.get(url, headers=bearer(secret)).json()
    assert [r["name"] for r in listed["results"]] == ["Advertising limit"]

    # Firm B's key: firm A's organisation does not exist for it.
    _key_b, secret_b = api_key_create(firm=firm_b.firm, scopes=("read", "write"))
    assert_error(client.get(url, headers=bearer(secret_b)), 404, "not_found")


def test_alerts_screen_csv_and_api_show_what_was_sent_to_whom_and_only_to_the_firm(
    client, firm_a, firm_b
):
    mine = alert_create(firm_a)
    theirs = alert_create(firm_b)
    client.force_login(firm_a.member(Role.VIEWER).user)
    page = client.get(reverse("alert_list", args=[firm_a.firm.slug, firm_a.organisation.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert mine.summary in text and theirs.summary not in text
    assert "owner@example.com" in text and "provisional" in text
    # Firm B's organisation, through firm A's URL: not found.
    assert (
        client.get(
            reverse("alert_list", args=[firm_a.firm.slug, firm_b.organisation.pk])
        ).status_code
        == 404
    )
    csv = client.get(reverse("alert_list_csv", args=[firm_a.firm.slug, firm_a.organisation.pk]))
    rows = b"".join(csv.streaming_content).decode().splitlines()
    assert rows[0].startswith("Raised,Month,Account")
    assert len(rows) == 2 and "owner@example.com" in rows[1]
    assert str(mine.account) in rows[1] and "birch" not in "".join(rows)

    _key, secret = api_key_create(firm=firm_a.firm, scopes=("read",))
    api = client.get(
        f"/api/v1/organisations/{firm_a.organisation.public_id}/alerts/", headers=bearer(secret)
    ).json()
    assert [a["id"] for a in api["results"]] == [mine.pk]
    assert api["results"][0]["deliveries"][0]["recipient"] == "owner@example.com"


def test_acknowledge_and_snooze_are_recorded_in_the_history(client, firm_a, firm_b):
    alert = alert_create(firm_a)
    other = alert_create(firm_b)
    user = firm_a.member(Role.VIEWER).user
    client.force_login(user)
    args = [firm_a.firm.slug, firm_a.organisation.pk]
    assert (
        client.post(reverse("alert_snooze", args=[*args, alert.pk]), {"for": "1d"}).status_code
        == 302
    )
    alert.refresh_from_db()
    assert alert.state == Alert.State.SNOOZED and alert.snoozed_until is not None
    assert client.post(reverse("alert_acknowledge", args=[*args, alert.pk])).status_code == 302
    alert.refresh_from_db()
    assert (alert.state, alert.acknowledged_by) == (Alert.State.ACKNOWLEDGED, user)
    reasons = list(alert.history.values_list("history_change_reason", flat=True))
    assert {"Acknowledged", "Snoozed until"} <= {r.split(" 20")[0] for r in reasons if r}
    # Firm B's alert through firm A's URL: not found, and untouched.
    assert client.post(reverse("alert_acknowledge", args=[*args, other.pk])).status_code == 404
    other.refresh_from_db()
    assert other.state == Alert.State.OPEN


def test_a_deleted_rule_raises_nothing_more_but_its_alerts_stay(client, firm_a, firm_b):
    alert = alert_create(firm_a)
    rule = alert.rule
    theirs = alert_create(firm_b).rule
    args = [firm_a.firm.slug, firm_a.organisation.pk]
    delete_url = reverse("alert_rule_delete", args=[*args, rule.pk])

    # A viewer may not; firm B's rule through firm A's URL is not found.
    client.force_login(firm_a.member(Role.VIEWER).user)
    assert client.post(delete_url).status_code == 403
    client.force_login(firm_a.member(Role.OWNER).user)
    assert client.post(reverse("alert_rule_delete", args=[*args, theirs.pk])).status_code == 404
    page = client.get(reverse("alert_rule_edit", args=[*args, rule.pk])).content.decode()
    assert f"Delete the rule {escape(rule.name)}" in page

    assert client.post(delete_url).status_code == 302

    rule.refresh_from_db()
    assert rule.deleted_at is not None and not rule.active
    assert rule.history.first().history_change_reason == "Alert rule deleted"
    assert rule.history.first().history_user == firm_a.member(Role.OWNER).user
    # Gone from the rules and their edit page; its alert stays, saying the rule was deleted, and
    # what it had not sent yet is not sent.
    assert rule.name not in client.get(reverse("alert_rules", args=args)).content.decode()
    assert client.get(reverse("alert_rule_edit", args=[*args, rule.pk])).status_code == 404
    listed = client.get(reverse("alert_list", args=args)).content.decode()
    assert escape(alert.summary) in listed and f"{escape(rule.name)} (deleted)" in listed
    [delivery] = AlertDelivery.objects.for_firm(firm_a.firm).filter(alert=alert)
    assert delivery.state == "failed" and "rule was deleted" in delivery.last_error
    theirs.refresh_from_db()
    assert theirs.deleted_at is None


def test_the_api_reads_and_deletes_a_rule_of_its_own_firm_only(client, firm_a, firm_b):
    rule = alert_create(firm_a).rule
    theirs = alert_create(firm_b).rule
    _key, secret = api_key_create(firm=firm_a.firm, scopes=("read", "write"))
    _key, read_only = api_key_create(firm=firm_a.firm, scopes=("read",))
    base = f"/api/v1/organisations/{firm_a.organisation.public_id}/alert-rules/"

    assert client.get(f"{base}{rule.pk}/", headers=bearer(secret)).json()["name"] == rule.name
    assert_error(client.get(f"{base}{theirs.pk}/", headers=bearer(secret)), 404, "not_found")
    other = f"/api/v1/organisations/{firm_b.organisation.public_id}/alert-rules/{theirs.pk}/"
    assert_error(client.delete(other, headers=bearer(secret)), 404, "not_found")
    assert client.delete(f"{base}{rule.pk}/", headers=bearer(read_only)).status_code == 403

    assert client.delete(f"{base}{rule.pk}/", headers=bearer(secret)).status_code == 204

    assert_error(client.get(f"{base}{rule.pk}/", headers=bearer(secret)), 404, "not_found")
    assert client.get(base, headers=bearer(secret)).json()["results"] == []
    assert AlertRule.objects.for_firm(firm_b.firm).get(pk=theirs.pk).deleted_at is None
