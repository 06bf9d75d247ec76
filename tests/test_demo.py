"""`make demo` on a fresh machine: the embedded defaults (SQLite, the in-process Xero sandbox)
set up the demo firm, and every main screen renders on SQLite, where the rest of the suite runs
on PostgreSQL. Catches what only SQLite refuses (DISTINCT ON, ORDER BY inside a UNION)."""

import datetime as dt
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.clock import subprocess_command

ROOT = Path(__file__).resolve().parent.parent

# Run inside the demo process: the screens a firm uses at month-end, as the demo's users.
SCREENS = r"""
from django.test import Client
from django.urls import reverse
from config.celery import app
from budgeting.approvals import services as approvals
from budgeting.models import Draft, DraftLine
from budgeting.drafts.services import draft_section_accept
from tenants.models import Firm, Membership

app.conf.task_always_eager = True  # no worker in this process: tasks run where queued
firm = Firm.objects.get(slug="demo")
users = {m.role: m.user for m in Membership.objects.for_firm(firm).select_related("user")}
draft = Draft.objects.for_firm(firm).order_by("pk").first()
org = draft.organisation
from tenants.models import ClientOrganisation
builder = ClientOrganisation.objects.for_firm(firm).get(name="Ashford & Vale Construction")
sections = set(
    DraftLine.objects.for_firm(firm).filter(draft=draft).values_list("section", flat=True)
)
# Money is exact on SQLite too (core/sqlite): the largest figure a budget holds, and one of
# 16 significant digits, through the partner API and back, to the cent.
from decimal import Decimal
from budgeting.drafts.services import draft_line_reset
from budgeting.models import DraftBalance
editor = Client()
editor.force_login(users["preparer"])
line = DraftLine.objects.for_firm(firm).filter(draft=draft).order_by("pk").first()
balance = DraftBalance.objects.for_firm(firm).filter(line=line).order_by("period").first()
edit = (
    f"/f/{firm.slug}/api/v1/organisations/{org.public_id}/drafts/{draft.pk}/lines/{line.pk}/edit/"
)
for figure in ("12345678901234.56", "99999999999999.99", "-99999999999999.99"):
    body = {"period": f"{balance.period:%Y-%m}", "amount": figure, "reason": "Exact money"}
    response = editor.post(edit, body, content_type="application/json", HTTP_HOST="127.0.0.1")
    assert response.status_code == 200, (figure, response.status_code, response.content[:500])
    month = next(b for b in response.json()["balances"] if b["period"] == body["period"])
    assert month["edited"] == figure, (figure, month["edited"])
    balance.refresh_from_db()
    assert balance.edited_amount == Decimal(figure), (figure, balance.edited_amount)
draft_line_reset(firm=firm, draft=draft, line=line, user=users["preparer"])
draft.refresh_from_db()
print("exact money ok")
for section in sections:
    draft_section_accept(firm=firm, draft=draft, section=section, user=users["preparer"])
draft.refresh_from_db()
approvals.draft_submit(firm=firm, draft=draft, user=users["preparer"])
client = Client()
client.force_login(users["owner"])
# Slack works in the demo through the in-process imitation: the request is in #approvals, and
# its Approve button, clicked as the demo's approver on the imitation's page, answers them with
# the sign-off link (the imitation of this process is new: it learns the approver again).
from integrations.models import SlackMember
from integrations.slack.http import slack_imitation_inprocess
imitation = slack_imitation_inprocess()
posted = [m for m in imitation.messages if "approval needed" in (m.text or "")]
assert len(posted) == 1, [m.text for m in imitation.messages]
approver_slack = SlackMember.objects.for_firm(firm).get(user=users["approver"]).slack_user_id
imitation.users[approver_slack] = {"name": "approver", "email": users["approver"].email}
click = {"ts": posted[0].ts, "action_id": "approval_approve", "user": approver_slack}
response = client.post(reverse("slack_imitation_click"), click, HTTP_HOST="127.0.0.1")
assert response.status_code == 302, response.status_code
[answer] = [m for m in imitation.messages if m.user == approver_slack]
assert "confirm on the sign-off page" in answer.text, answer.text
print("slack ok")
line = DraftLine.objects.for_firm(firm).filter(draft=draft).first()
pages = [
    reverse("slack_settings", args=[firm.slug]),
    reverse("slack_imitation_page"),
    reverse("firm_dashboard", args=[firm.slug]),
    reverse("organisation_detail", args=[firm.slug, org.pk]),
    reverse("variance_report", args=[firm.slug, org.pk]),
    reverse("draft_list", args=[firm.slug, org.pk]),
    reverse("draft_detail", args=[firm.slug, org.pk, draft.pk]),
    reverse("draft_line_detail", args=[firm.slug, org.pk, draft.pk, line.pk]),
    reverse("draft_approval", args=[firm.slug, org.pk, draft.pk]),
    reverse("approval_chain_edit", args=[firm.slug, org.pk]),
    reverse("budget_policy_edit", args=[firm.slug, org.pk]),
    reverse("audit_log", args=[firm.slug, org.pk]),
    reverse("draft_audit_log", args=[firm.slug, org.pk, draft.pk]),
    reverse("report_pack_list", args=[firm.slug, org.pk]),
    reverse("sales_pipeline", args=[firm.slug, builder.pk]),
    reverse("cash_view", args=[firm.slug, org.pk]),
    # Last: the check after the loop reads this page.
    reverse("forecast_accuracy", args=[firm.slug, org.pk]),
]
# The builder's pipeline shows beside its forecast.
page = client.get(reverse("sales_pipeline", args=[firm.slug, builder.pk]), HTTP_HOST="127.0.0.1")
assert "Version 3, as of" in page.content.decode() and "Contract Revenue" in page.content.decode()
# The demo built each client's pack: its PDF downloads.
from budgeting.models import ReportPack
pack = ReportPack.objects.for_firm(firm).get(organisation=org)
pdf = client.get(reverse("report_pack_download", args=[firm.slug, org.pk, pack.pk]), HTTP_HOST="127.0.0.1")
assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-"), pdf.status_code
for url in pages:
    response = client.get(url, HTTP_HOST="127.0.0.1")
    assert response.status_code == 200, (url, response.status_code)
# A newcomer sees what forecast accuracy is for: past forecasts scored against later actuals.
assert "forecast months scored" in response.content.decode(), response.content[-2000:]
restore = reverse("draft_restore", args=[firm.slug, org.pk, draft.pk])
assert client.post(restore, {"revision": "1"}, HTTP_HOST="127.0.0.1").status_code == 302
draft.refresh_from_db()
assert draft.status == "submitted", draft.status
# The demo's client group opens on a consolidated report in one currency (AUD).
from budgeting.models import ClientGroup
group = ClientGroup.objects.for_firm(firm).get()
response = client.get(reverse("group_report", args=[firm.slug, group.pk]), HTTP_HOST="127.0.0.1")
assert response.status_code == 200, response.status_code
assert "Group net profit" in response.content.decode(), response.content[-2000:]
print("screens ok", len(pages))
# Tidemark buys in dollars and euros: its report splits the variances by currency, at the
# budget rates the demo seeded from its first synced months.
from tenants.models import ClientOrganisation
tidemark = ClientOrganisation.objects.for_firm(firm).get(name="Tidemark Homewares")
report = client.get(reverse("variance_report", args=[firm.slug, tidemark.pk]), HTTP_HOST="127.0.0.1")
assert report.status_code == 200 and "Currency effects" in report.content.decode(), report.status_code
rates = client.get(reverse("budget_rates", args=[firm.slug, tidemark.pk]), HTTP_HOST="127.0.0.1")
assert rates.status_code == 200 and "Average of past documents" in rates.content.decode()
print("currency ok")
# Next year's budget by department on SQLite, as the README walks it: the owner drafts the
# builder's year (the demo left it for them), gives two projects to a member and to the
# client's budget owner, and the departments page and the sample CRM export render.
from budgeting.annual.selectors import annual_years
from budgeting.departments.selectors import draft_options
from budgeting.departments import services as departments
from budgeting.models import AnnualDraft
year = annual_years(firm=firm, organisation=builder).default.year
assert not AnnualDraft.objects.for_firm(firm).filter(organisation=builder).exists()
response = client.post(
    reverse("annual_draft_create", args=[firm.slug, builder.pk]),
    {"financial_year": year, "departure_percent": "25"},
    HTTP_HOST="127.0.0.1",
)
assert response.status_code == 302, response.content[-2000:]
annual = AnnualDraft.objects.for_firm(firm).get(organisation=builder)
first, second = draft_options(firm=firm, draft=annual.draft)[:2]
departments.department_assign(
    firm=firm, draft=annual.draft, option=first, user=users["owner"], manager_user=users["preparer"]
)
departments.department_assign(
    firm=firm, draft=annual.draft, option=second, user=users["owner"],
    email=f"budget-owner+{builder.pk}@client.example.com",
)
for url in (
    reverse("draft_detail", args=[firm.slug, builder.pk, annual.draft_id]),
    reverse("draft_departments", args=[firm.slug, builder.pk, annual.draft_id]),
    reverse("sales_pipeline_sample", args=[firm.slug, builder.pk]),
):
    response = client.get(url, HTTP_HOST="127.0.0.1")
    assert response.status_code == 200, (url, response.status_code)
# The sample CRM export's deals close inside the year the owner drafts, so uploading it shows.
drafted = annual_years(firm=firm, organisation=builder).years[0]
sample = client.get(
    reverse("sales_pipeline_sample", args=[firm.slug, builder.pk]), HTTP_HOST="127.0.0.1"
).content.decode().splitlines()[1:]
closes = [row.split(",")[4] for row in sample]
assert len(closes) == 3 and all(
    f"{drafted.first_period:%Y-%m}" <= c <= f"{drafted.last_period:%Y-%m}" for c in closes
), (closes, drafted.words)
assert "Not split by Project" in client.get(
    reverse("draft_departments", args=[firm.slug, builder.pk, annual.draft_id]), HTTP_HOST="127.0.0.1"
).content.decode()
print("annual by department ok")
"""

# Run inside the demo process: three syncs, each followed by its forecast run, in three threads
# at once, as the demo's worker threads and web requests do. On SQLite only one writes at a time:
# every run must still finish, none with "database is locked", and each leave its draft.
AT_ONCE = r"""
import threading
from django.db import connection
from budgeting.drafts.services import forecast_run_execute, forecast_run_start
from budgeting.ledger.sync import organisation_sync, organisation_sync_start
from budgeting.models import Draft, ForecastRun, SyncRun
from tenants.models import ClientOrganisation, Firm

from integrations.xero.demo import demo_xero_connect
from tenants.models import Membership

firm = Firm.objects.get(slug="demo")
# The in-process Xero sandbox lives and dies with its process: connect this one, as `make demo`
# does each time it starts.
owner = Membership.objects.for_firm(firm).filter(role="owner").first().user
demo_xero_connect(firm=firm, user=owner)
organisations = list(ClientOrganisation.objects.for_firm(firm).order_by("pk")[:3])
before = {o.pk: Draft.objects.for_firm(firm).filter(organisation=o).count() for o in organisations}
start = threading.Barrier(3, timeout=60)
outcomes = {}

def run(organisation):
    try:
        start.wait()
        sync = organisation_sync_start(
            firm=firm, organisation=organisation, trigger="manual", enqueue=False
        )
        sync = organisation_sync(firm=firm, run_id=sync.pk)
        forecast = forecast_run_start(
            firm=firm, organisation=organisation, source="manual", enqueue=False
        )
        forecast = forecast_run_execute(firm=firm, run_id=forecast.pk)
        outcomes[organisation.pk] = (sync.state, sync.error, forecast.state, forecast.error)
    except Exception as exc:
        outcomes[organisation.pk] = ("raised", repr(exc))
    finally:
        connection.close()

threads = [threading.Thread(target=run, args=(o,)) for o in organisations]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(timeout=300)
    assert not thread.is_alive(), "a run did not finish within 5 minutes"
for organisation in organisations:
    outcome = outcomes[organisation.pk]
    assert outcome[0] == "succeeded" and outcome[2] == "succeeded", (organisation.name, outcome)
    drafts = Draft.objects.for_firm(firm).filter(organisation=organisation).count()
    assert drafts == before[organisation.pk] + 1, (organisation.name, drafts)
print("at once ok", len(organisations))
"""


@pytest.mark.slow
def test_the_demo_sets_up_and_its_screens_render_on_sqlite(tmp_path):
    # A fresh machine's environment: none of the test defaults config.settings_test put in it.
    from config.settings_test import _TEST_ENV

    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _TEST_ENV and key != "CELERY_BROKER_URL" and not key.startswith("DJANGO_")
    }
    env |= {"DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}

    def manage(*args, stdin=None):
        return subprocess.run(
            # On the suite's clock (tests/clock.py), as the rest of the suite.
            subprocess_command(dt.datetime.now(dt.UTC), "manage.py", *args),
            cwd=ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=600,
        )

    # Served on a port of its own: the logins it prints name that port, not 8000.
    for args in (("migrate", "-v0"), ("demo", "--no-serve", "127.0.0.1:8123")):
        done = manage(*args)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Log in at http://127.0.0.1:8123/ with password" in done.stdout
    assert "8000" not in done.stdout
    assert "synced Harbour Lane Café" in done.stdout
    assert "budget rate of Tidemark Homewares: USD" in done.stdout
    assert "forecast draft for" in done.stdout
    # Two departments of the group's draft (its tracking options) go to two managers.
    assert "draft by department for Kestrel Pacific Group: " in done.stdout
    assert "Slack (the imitation): #approvals, working, 5 members linked" in done.stdout
    assert re.search(r"past forecasts of Harbour Lane Café: [1-9]\d* months scored", done.stdout)
    assert re.search(r"report pack of Harbour Lane Café, \w+ \d{4}: \d+ KB PDF", done.stdout)
    # A bill posted in the sandbox reached the app as a signed webhook and broke a limit.
    assert re.search(
        r"alert for Harbour Lane Café \(webhook 200\): Repairs and Maintenance \(473\) is "
        r"NZ\$1,800\.00 over its limit",
        done.stdout,
    )
    assert re.search(
        r"client group Kestrel Pacific Group \(consolidated\), \w+ \d{4}: net profit AUD -?\d",
        done.stdout,
    ), done.stdout[-3000:]
    # One client has a sales pipeline: two older exports, then the CRM file of demo_data.
    assert re.search(r"sales pipeline of Ashford & Vale Construction: v3, 10 deals", done.stdout)
    # Next year's budget, already drafted for the café, with its flags; the builder's (by
    # project) is left for the owner.
    assert re.search(
        r"next year's budget of Harbour Lane Café: FY\d{4} drafted, \d+ lines, \d+ flags",
        done.stdout,
    )
    assert re.search(
        r"cash of Harbour Lane Café: low -?\d+\.\d\d in \w+ \d{4}, threshold \d+, 1 alert\b",
        done.stdout,
    )
    done = manage("shell", stdin=AT_ONCE)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "at once ok 3" in done.stdout
    done = manage("shell", stdin=SCREENS)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "exact money ok" in done.stdout
    assert "slack ok" in done.stdout
    assert "screens ok 17" in done.stdout
    assert "currency ok" in done.stdout
    assert "annual by department ok" in done.stdout
