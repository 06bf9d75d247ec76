"""A firm's Slack settings: owners only, secrets encrypted and out of the history, a test
message over real HTTP to the imitation, and Slack users linked to members by email or by
hand. Every screen test casts two firms."""

import pytest
from django.db import connection
from django.urls import reverse

from integrations.slack import services as slack
from integrations.slack.client import slack_webhook_post
from integrations.slack.errors import SlackAuthError
from integrations.slack.imitation.app import BOT_TOKEN, TEAM_ID
from integrations.slack.models import SlackMember, SlackSettings
from tests.slack import slack_served


@pytest.fixture
def imitation(settings):
    with slack_served(settings) as served_imitation:
        yield served_imitation


def _raw(column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM integrations_slacksettings WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_secrets_are_stored_encrypted_and_kept_out_of_the_history(firm_a):
    owner = firm_a.member("owner").user
    current = slack.slack_settings_update(
        firm=firm_a.firm,
        user=owner,
        method="bot",
        webhook_url=None,
        bot_token="xoxb-secret-token-1234",
        default_channel="#approvals",
        approvals_to_slack=True,
    )

    assert "xoxb" not in _raw("bot_token", current.pk)
    assert SlackSettings.objects.for_firm(firm_a.firm).get().bot_token == "xoxb-secret-token-1234"
    version = current.history.latest()
    assert not hasattr(version, "bot_token")
    assert (version.secret_hint, version.history_user) == ("…1234", owner)

    # Saving without a token keeps the stored one.
    slack.slack_settings_update(
        firm=firm_a.firm,
        user=owner,
        method="bot",
        webhook_url=None,
        bot_token=None,
        default_channel="#budget-alerts",
        approvals_to_slack=False,
    )
    assert SlackSettings.objects.for_firm(firm_a.firm).get().bot_token == "xoxb-secret-token-1234"


def test_an_impossible_setting_is_refused_with_what_to_do(firm_a):
    def update(**changes):
        fields = {
            "method": "bot",
            "webhook_url": None,
            "bot_token": None,
            "default_channel": "#approvals",
            "approvals_to_slack": False,
        }
        return slack.slack_settings_update(firm=firm_a.firm, user=None, **{**fields, **changes})

    with pytest.raises(slack.SlackSettingsError, match="bot token"):
        update()
    with pytest.raises(slack.SlackSettingsError, match="webhook URL"):
        update(method="webhook")
    with pytest.raises(slack.SlackSettingsError, match="#name"):
        update(bot_token=BOT_TOKEN, default_channel="Budget Alerts!")


def test_the_test_message_reaches_the_channel_over_http_and_names_the_workspace(firm_a, imitation):
    owner = firm_a.member("owner").user
    slack.slack_settings_update(
        firm=firm_a.firm,
        user=owner,
        method="bot",
        webhook_url=None,
        bot_token=BOT_TOKEN,
        default_channel="#approvals",
        approvals_to_slack=True,
    )

    current = slack.slack_connection_test(firm=firm_a.firm, user=owner)

    assert (current.test_ok, current.team_id) == (True, TEAM_ID)
    [message] = imitation.messages_in("C0APPROVALS")
    assert firm_a.firm.name in message.text
    assert current.history.latest().history_change_reason == "Test message sent"


def test_a_webhook_test_message_and_a_failed_one_say_what_slack_said(firm_a, imitation):
    owner = firm_a.member("owner").user
    url = imitation.webhook_add("C0ALERTS", base_url=imitation.base_url)
    slack.slack_settings_update(
        firm=firm_a.firm,
        user=owner,
        method="webhook",
        webhook_url=url,
        bot_token=None,
        default_channel="",
        approvals_to_slack=False,
    )
    assert slack.slack_connection_test(firm=firm_a.firm, user=owner).test_ok is True
    assert len(imitation.messages_in("C0ALERTS")) == 1

    imitation.webhook_remove(url)
    current = slack.slack_connection_test(firm=firm_a.firm, user=owner)

    assert current.test_ok is False
    assert "no_service" in current.test_detail
    assert "connect Slack again" in current.test_detail


def test_members_are_found_by_email_and_a_link_set_by_hand_is_kept(firm_a, imitation):
    approver = firm_a.member("approver").user
    admin = firm_a.member("admin").user
    imitation.users["U0ANA"] = {"name": "ana", "email": approver.email.upper()}
    imitation.users["U0ADMIN"] = {"name": "adm", "email": admin.email}
    slack.slack_settings_update(
        firm=firm_a.firm,
        user=None,
        method="bot",
        webhook_url=None,
        bot_token=BOT_TOKEN,
        default_channel="#approvals",
        approvals_to_slack=True,
    )
    slack.slack_member_set(firm=firm_a.firm, member=admin, slack_user_id="u0byhand", by=None)

    result = slack.slack_members_lookup(firm=firm_a.firm, by=firm_a.member("owner").user)

    links = dict(SlackMember.objects.for_firm(firm_a.firm).values_list("user_id", "slack_user_id"))
    assert links == {approver.pk: "U0ANA", admin.pk: "U0BYHAND"}
    assert result.found == 1
    assert firm_a.member("viewer").user.email in result.not_found


def test_a_slack_user_is_one_member_and_only_members_are_linked(firm_a, firm_b):
    approver = firm_a.member("approver").user
    slack.slack_member_set(firm=firm_a.firm, member=approver, slack_user_id="U0ANA", by=None)

    with pytest.raises(slack.SlackSettingsError, match="already linked"):
        slack.slack_member_set(
            firm=firm_a.firm, member=firm_a.member("admin").user, slack_user_id="U0ANA", by=None
        )
    with pytest.raises(slack.SlackSettingsError, match="Only members"):
        slack.slack_member_set(
            firm=firm_a.firm, member=firm_b.member("owner").user, slack_user_id="U0B", by=None
        )
    with pytest.raises(slack.SlackSettingsError, match="looks like"):
        slack.slack_member_set(firm=firm_a.firm, member=approver, slack_user_id="ana", by=None)
    # Firm B may link the same Slack ID to its own member: another firm, another mapping.
    slack.slack_member_set(
        firm=firm_b.firm, member=firm_b.member("approver").user, slack_user_id="U0ANA", by=None
    )
    slack.slack_member_set(firm=firm_a.firm, member=approver, slack_user_id="", by=None)
    assert not SlackMember.objects.for_firm(firm_a.firm).exists()
    assert SlackMember.objects.for_firm(firm_b.firm).count() == 1


# --- The screens -------------------------------------------------------------------------------


def test_only_owners_see_the_slack_settings(client, firm_a):
    url = reverse("slack_settings", args=[firm_a.firm.slug])
    for role, status in (("owner", 200), ("admin", 403), ("approver", 403)):
        client.force_login(firm_a.member(role).user)
        assert client.get(url).status_code == status, role


def test_an_owner_saves_tests_and_links_from_the_screen_and_firm_b_sees_none_of_it(
    client, firm_a, firm_b, imitation
):
    client.force_login(firm_a.member("owner").user)
    url = reverse("slack_settings", args=[firm_a.firm.slug])
    response = client.post(
        url,
        {
            "method": "bot",
            "bot_token": BOT_TOKEN,
            "default_channel": "#approvals",
            "approvals_to_slack": "on",
            "reason": "Approvals in Slack",
        },
    )
    assert response.status_code == 302
    client.post(reverse("slack_test", args=[firm_a.firm.slug]))
    approver = firm_a.member("approver").user
    client.post(
        reverse("slack_member_set", args=[firm_a.firm.slug]),
        {"member": approver.pk, "slack_user_id": "U0APPROVER"},
    )

    page = client.get(url).content.decode()
    assert "Working" in page
    assert "Approvals in Slack" in page  # the history, with the reason
    assert "U0APPROVER" in page
    assert BOT_TOKEN not in page  # the secret is never shown back
    assert len(imitation.messages_in("C0APPROVALS")) == 1

    # Firm B's owner: its own (empty) settings, and no way to link firm A's member.
    client.force_login(firm_b.member("owner").user)
    page_b = client.get(reverse("slack_settings", args=[firm_b.firm.slug])).content.decode()
    assert "U0APPROVER" not in page_b
    assert "Working" not in page_b
    response = client.post(
        reverse("slack_member_set", args=[firm_b.firm.slug]),
        {"member": approver.pk, "slack_user_id": "U0EVIL"},
    )
    assert response.status_code == 404
    assert SlackMember.objects.for_firm(firm_a.firm).get().slack_user_id == "U0APPROVER"


def test_keys_rotate_without_losing_the_slack_secret(firm_a, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    slack_turn_on_token = "xoxb-rotate-me-0001"
    slack.slack_settings_update(
        firm=firm_a.firm,
        user=None,
        method="bot",
        webhook_url=None,
        bot_token=slack_turn_on_token,
        default_channel="#approvals",
        approvals_to_slack=False,
    )
    old_key = settings.FIELD_ENCRYPTION_KEY
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"
    call_command("rotate_encryption_keys")

    settings.FIELD_ENCRYPTION_KEY = new_key  # the old key is gone
    assert SlackSettings.objects.for_firm(firm_a.firm).get().bot_token == slack_turn_on_token


@pytest.mark.parametrize(
    "webhook_url",
    [
        "http://169.254.169.254/latest/meta-data/",  # the cloud's metadata service
        "http://127.0.0.1:6379/",  # Redis on loopback
        "https://hooks.slack.com.attacker.example/services/T/B/X",  # looks like Slack's
        "https://example.com/services/T/B/X",
    ],
)
def test_an_incoming_webhook_is_only_ever_one_of_slacks_urls(
    client, firm_a, firm_b, settings, webhook_url
):
    settings.SLACK_URL_PREFIXES = ["https://hooks.slack.com/"]
    client.force_login(firm_a.member("owner").user)

    response = client.post(
        reverse("slack_settings", args=[firm_a.firm.slug]),
        {"method": "webhook", "webhook_url": webhook_url, "reason": "Alerts"},
    )

    assert response.status_code == 400
    assert "starting https://hooks.slack.com/services/" in response.content.decode()
    assert not SlackSettings.objects.for_firm(firm_a.firm).exclude(webhook_url="").exists()
    # And at sending, whatever is stored: nothing is posted to it.
    with pytest.raises(SlackAuthError, match="not one of Slack's"):
        slack_webhook_post(webhook_url=webhook_url, text="hello")
    # Firm B's owner cannot save firm A's settings.
    client.force_login(firm_b.member("owner").user)
    response = client.post(
        reverse("slack_settings", args=[firm_a.firm.slug]),
        {"method": "webhook", "webhook_url": "https://hooks.slack.com/services/T/B/X"},
    )
    assert response.status_code in (403, 404)
