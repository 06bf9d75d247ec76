"""The partner API: keys, scopes, errors, throttling, ETags and pagination, always with two firms."""

import datetime as dt

import pytest
from django.urls import include, path
from django.utils import timezone
from rest_framework.response import Response

from tenants.api.base import FirmAPIView
from tenants.models import ApiKey, ClientOrganisation
from tenants.roles import Action, Role
from tests.api import assert_error, bearer
from tests.factories import api_key_create, client_organisation_create

ORGS = "/api/v1/organisations/"


# Endpoints that write and approve arrive with drafts; these stand in for them so the scope
# rules are tested now. Each answers what the firm's scope lets it see.
class _DraftEditApi(FirmAPIView):
    firm_actions = {"POST": Action.PREPARE_DRAFTS}

    def post(self, request):
        return Response({"organisations": ClientOrganisation.objects.count()})


class _ApproveApi(FirmAPIView):
    firm_actions = {"POST": Action.APPROVE}

    def post(self, request):
        return Response({"approved_as": request.user.email})


class _KeysApi(FirmAPIView):
    firm_actions = {"POST": Action.MANAGE_API_KEYS}

    def post(self, request):
        return Response({})


urlpatterns = [
    path("api/v1/test/draft/", _DraftEditApi.as_view()),
    path("api/v1/test/approve/", _ApproveApi.as_view()),
    path("api/v1/test/keys/", _KeysApi.as_view()),
    path("", include("config.urls")),
]
with_test_endpoints = pytest.mark.urls(__name__)


def test_a_key_lists_its_own_firms_organisations_only(client, firm_a, firm_b):
    _api_key, key = api_key_create(firm=firm_a.firm)
    response = client.get(ORGS, headers=bearer(key))
    assert response.status_code == 200
    body = response.json()
    assert [o["name"] for o in body["results"]] == ["Harbour Lane Café"]
    organisation = body["results"][0]
    assert organisation == {
        "id": str(firm_a.organisation.public_id),
        "name": "Harbour Lane Café",
        "base_currency": "NZD",
        "created_at": organisation["created_at"],
        "archived": False,
    }
    assert body["next"] is None

    _api_key, key_b = api_key_create(firm=firm_b.firm)
    names = [o["name"] for o in client.get(ORGS, headers=bearer(key_b)).json()["results"]]
    assert names == ["Kestrel Construction"]


def test_archived_organisations_are_listed_on_request(client, firm_a):
    client_organisation_create(firm=firm_a.firm, name="Old Mill", archived_at=timezone.now())
    _api_key, key = api_key_create(firm=firm_a.firm)
    names = [o["name"] for o in client.get(ORGS, headers=bearer(key)).json()["results"]]
    assert names == ["Harbour Lane Café"]
    response = client.get(ORGS, {"include_archived": "true"}, headers=bearer(key))
    assert {o["name"]: o["archived"] for o in response.json()["results"]} == {
        "Harbour Lane Café": False,
        "Old Mill": True,
    }


def test_an_organisation_by_id_and_another_firms_id_is_not_found(client, firm_a, firm_b):
    _api_key, key = api_key_create(firm=firm_a.firm)
    own = client.get(f"{ORGS}{firm_a.organisation.public_id}/", headers=bearer(key))
    assert own.status_code == 200
    assert own.json()["name"] == "Harbour Lane Café"

    other = client.get(f"{ORGS}{firm_b.organisation.public_id}/", headers=bearer(key))
    error = assert_error(other, 404, "not_found")
    assert "Kestrel" not in other.content.decode()
    # "Not yours" and "missing" look the same.
    missing = client.get(f"{ORGS}00000000-0000-4000-8000-000000000000/", headers=bearer(key))
    assert assert_error(missing, 404, "not_found") == error


def test_members_of_the_keys_firm(client, firm_a, firm_b):
    _api_key, key = api_key_create(firm=firm_a.firm)
    response = client.get("/api/v1/members/", headers=bearer(key))
    assert response.status_code == 200
    members = {m["email"]: m["role"] for m in response.json()["results"]}
    assert members == {m.user.email: role for role, m in firm_a.members.items()}


def test_no_key_is_401_with_a_bearer_challenge(client, firm_a):
    response = client.get(ORGS)
    error = assert_error(response, 401, "not_authenticated")
    assert "Authorization: Bearer" in error["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_key_is_401(client, firm_a):
    _api_key, key = api_key_create(firm=firm_a.firm)
    assert_error(client.get(ORGS, headers=bearer(key + "x")), 401, "invalid_key")
    assert_error(client.get(ORGS, headers=bearer("")), 401, "invalid_header")
    assert_error(client.get(ORGS, headers=bearer(f"{key} extra")), 401, "invalid_header")


def test_revoked_and_expired_keys_are_401_saying_so(client, firm_a):
    revoked, revoked_key = api_key_create(firm=firm_a.firm, name="Old")
    ApiKey.objects.for_firm(firm_a.firm).filter(pk=revoked.pk).update(revoked_at=timezone.now())
    error = assert_error(client.get(ORGS, headers=bearer(revoked_key)), 401, "key_revoked")
    assert revoked.prefix in error["message"]
    assert "new key" in error["message"]

    expired, expired_key = api_key_create(firm=firm_a.firm, name="Temp")
    ApiKey.objects.for_firm(firm_a.firm).filter(pk=expired.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    error = assert_error(client.get(ORGS, headers=bearer(expired_key)), 401, "key_expired")
    assert "expired" in error["message"]


def test_last_used_is_recorded_at_most_once_a_minute(client, firm_a):
    api_key, key = api_key_create(firm=firm_a.firm)
    assert api_key.last_used_at is None
    client.get(ORGS, headers=bearer(key))
    api_key.refresh_from_db()
    first = api_key.last_used_at
    assert first is not None

    client.get(ORGS, headers=bearer(key))
    api_key.refresh_from_db()
    assert api_key.last_used_at == first

    a_while_ago = timezone.now() - dt.timedelta(minutes=2)
    ApiKey.objects.for_firm(firm_a.firm).filter(pk=api_key.pk).update(last_used_at=a_while_ago)
    client.get(ORGS, headers=bearer(key))
    api_key.refresh_from_db()
    assert api_key.last_used_at > a_while_ago + dt.timedelta(minutes=1)
    # Use is not history: only the creation is recorded there.
    assert api_key.history.count() == 1


@with_test_endpoints
def test_missing_scope_is_403_naming_the_scope(client, firm_a, firm_b):
    _api_key, read_key = api_key_create(firm=firm_a.firm, scopes=["read"])
    error = assert_error(
        client.post("/api/v1/test/draft/", headers=bearer(read_key)), 403, "missing_scope"
    )
    assert "'write'" in error["message"]
    assert_error(
        client.post("/api/v1/test/approve/", headers=bearer(read_key)), 403, "missing_scope"
    )

    _api_key, write_key = api_key_create(firm=firm_a.firm, scopes=["write"])
    response = client.post("/api/v1/test/draft/", headers=bearer(write_key))
    assert response.status_code == 200
    # The handler ran in firm A's scope: firm B's organisation is not counted.
    assert response.json() == {"organisations": 1}
    assert_error(
        client.post("/api/v1/test/approve/", headers=bearer(write_key)), 403, "missing_scope"
    )
    # A write key reads too.
    assert client.get(ORGS, headers=bearer(write_key)).status_code == 200


@with_test_endpoints
def test_an_approve_key_approves_as_its_member_while_their_role_allows(client, firm_a):
    approver = firm_a.member(Role.APPROVER)
    _api_key, key = api_key_create(firm=firm_a.firm, scopes=["approve"], member=approver)
    response = client.post("/api/v1/test/approve/", headers=bearer(key))
    assert response.status_code == 200
    assert response.json() == {"approved_as": approver.user.email}

    # Demoted: the key follows the member's role, like the screens do.
    approver.role = Role.VIEWER
    approver.save()
    error = assert_error(
        client.post("/api/v1/test/approve/", headers=bearer(key)), 403, "role_not_allowed"
    )
    assert approver.user.email in error["message"]

    # Gone from the firm: the key no longer approves as anybody.
    approver.delete()
    assert_error(client.post("/api/v1/test/approve/", headers=bearer(key)), 403, "no_member")


@with_test_endpoints
def test_an_approve_key_made_for_someone_else_does_not_approve(client, firm_a):
    """Keys made before approve keys had to be their creator's own stop approving."""
    approver = firm_a.member(Role.APPROVER)
    api_key, key = api_key_create(firm=firm_a.firm, scopes=["approve"], member=approver)
    ApiKey.objects.for_firm(firm_a.firm).filter(pk=api_key.pk).update(
        created_by=firm_a.member(Role.ADMIN).user
    )
    error = assert_error(
        client.post("/api/v1/test/approve/", headers=bearer(key)), 403, "not_own_approve_key"
    )
    assert approver.user.email in error["message"]
    # It still reads.
    assert client.get(ORGS, headers=bearer(key)).status_code == 200


@with_test_endpoints
def test_a_key_that_names_a_viewer_cannot_write(client, firm_a):
    viewer = firm_a.member(Role.VIEWER)
    _api_key, key = api_key_create(firm=firm_a.firm, scopes=["write"], member=viewer)
    assert_error(client.post("/api/v1/test/draft/", headers=bearer(key)), 403, "role_not_allowed")


@with_test_endpoints
def test_keys_cannot_manage_the_firm(client, firm_a):
    _api_key, key = api_key_create(
        firm=firm_a.firm, scopes=ApiKey.Scope.values, member=firm_a.member(Role.OWNER)
    )
    assert_error(
        client.post("/api/v1/test/keys/", headers=bearer(key)), 403, "not_allowed_for_keys"
    )


def test_throttling_per_key_is_429_in_the_error_format(client, firm_a, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_key": "2/min", "api_session": "2/min"},
    }
    _api_key, key = api_key_create(firm=firm_a.firm)
    _api_key, other_key = api_key_create(firm=firm_a.firm, name="Other")
    assert client.get(ORGS, headers=bearer(key)).status_code == 200
    assert client.get(ORGS, headers=bearer(key)).status_code == 200
    response = client.get(ORGS, headers=bearer(key))
    error = assert_error(response, 429, "throttled")
    assert "Try again in" in error["message"]
    assert int(response["Retry-After"]) > 0
    # Per key: another key of the same firm is not held back.
    assert client.get(ORGS, headers=bearer(other_key)).status_code == 200


def test_throttling_counts_every_request_from_many_threads_at_once(firm_a, firm_b, settings):
    """Eight threads (as workers would) asking at once for one key: exactly the limit passes,
    however the requests interleave; firm B's key has its own count. The clock stands still in
    the middle of the hour, so no window edge falls inside the test."""
    import threading

    import time_machine
    from rest_framework.test import APIRequestFactory

    from tenants.api.throttling import ApiKeyRateThrottle

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_key": "150/hour", "api_session": "150/hour"},
    }
    api_key, _key = api_key_create(firm=firm_a.firm)
    api_key_b, _key_b = api_key_create(firm=firm_b.firm)
    factory = APIRequestFactory()
    allowed = {api_key.pk: 0, api_key_b.pk: 0}
    lock, start = threading.Lock(), threading.Barrier(8)

    def ask(key: ApiKey, times: int) -> None:
        start.wait()
        for _ in range(times):
            request = factory.get(ORGS)
            request.auth = key
            if ApiKeyRateThrottle().allow_request(request, None):
                with lock:
                    allowed[key.pk] += 1

    threads = [threading.Thread(target=ask, args=(api_key, 40)) for _ in range(7)]
    threads.append(threading.Thread(target=ask, args=(api_key_b, 40)))
    with time_machine.travel(timezone.now().replace(minute=30), tick=False):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert allowed == {api_key.pk: 150, api_key_b.pk: 40}


def test_bad_input_is_400_naming_the_field(client, firm_a):
    _api_key, key = api_key_create(firm=firm_a.firm)
    error = assert_error(client.get(ORGS, {"page_size": "0"}, headers=bearer(key)), 400, "invalid")
    assert error["fields"] == {"page_size": ["Give a whole number from 1 to 500."]}
    assert "page_size" in error["message"]

    error = assert_error(
        client.get(ORGS, {"include_archived": "sometimes"}, headers=bearer(key)), 400, "invalid"
    )
    assert list(error["fields"]) == ["include_archived"]

    error = assert_error(
        client.get(ORGS, {"cursor": "nonsense"}, headers=bearer(key)), 400, "invalid"
    )
    assert "cursor" in error["fields"]

    # A misspelt filter is refused, not quietly ignored (which would return everything).
    error = assert_error(
        client.get(ORGS, {"include_archive": "true"}, headers=bearer(key)), 400, "invalid"
    )
    assert error["fields"]["include_archive"] == [
        "Unknown parameter. This endpoint takes: cursor, include_archived, page_size."
    ]
    error = assert_error(client.get(ORGS, {"page_size": ""}, headers=bearer(key)), 400, "invalid")
    assert list(error["fields"]) == ["page_size"]


def test_unknown_api_urls_answer_in_the_error_format(client, firm_a):
    _api_key, key = api_key_create(firm=firm_a.firm)
    assert_error(client.get("/api/v1/nothing-here/", headers=bearer(key)), 404, "not_found")
    assert_error(client.get(f"{ORGS}not-a-uuid/", headers=bearer(key)), 404, "not_found")


def test_etag_gives_304_until_the_data_changes(client, firm_a, firm_b):
    _api_key, key = api_key_create(firm=firm_a.firm)
    first = client.get(ORGS, headers=bearer(key))
    etag = first["ETag"]
    assert etag.startswith('W/"')
    assert "Authorization" in first["Vary"]

    again = client.get(ORGS, headers={**bearer(key), "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag

    # Another firm's change does not touch this firm's ETag; a change of its own does.
    firm_b.organisation.name = "Kestrel Construction Group"
    firm_b.organisation.save()
    assert client.get(ORGS, headers={**bearer(key), "If-None-Match": etag}).status_code == 304
    firm_a.organisation.name = "Harbour Lane Bistro"
    firm_a.organisation.save()
    changed = client.get(ORGS, headers={**bearer(key), "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag

    detail = client.get(f"{ORGS}{firm_a.organisation.public_id}/", headers=bearer(key))
    headers = {**bearer(key), "If-None-Match": f'"other", {detail["ETag"]}'}
    assert client.get(f"{ORGS}{firm_a.organisation.public_id}/", headers=headers).status_code == 304


def test_cursor_pagination_walks_every_row_once(client, firm_a, firm_b):
    for n in range(6):
        client_organisation_create(firm=firm_a.firm, name=f"Client {n}")
        client_organisation_create(firm=firm_b.firm, name=f"Other firm client {n}")
    _api_key, key = api_key_create(firm=firm_a.firm)
    seen, url, pages = [], f"{ORGS}?page_size=3", 0
    while url:
        body = client.get(url, headers=bearer(key)).json()
        assert len(body["results"]) <= 3
        seen += [o["name"] for o in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 3
    assert sorted(seen) == sorted(["Harbour Lane Café", *(f"Client {n}" for n in range(6))])


def test_signed_in_people_use_the_firm_url(client, firm_a, firm_b):
    viewer = firm_a.member(Role.VIEWER)
    client.force_login(viewer.user)
    response = client.get(f"/f/{firm_a.firm.slug}{ORGS}", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert [o["name"] for o in response.json()["results"]] == ["Harbour Lane Café"]

    # The key routes do not take the firm from a session.
    assert_error(client.get(ORGS), 403, "firm_required")
    # Another firm's URL is not found, as in the screens.
    other = client.get(f"/f/{firm_b.firm.slug}{ORGS}", headers={"Accept": "application/json"})
    assert_error(other, 404, "not_found")
    detail = client.get(
        f"/f/{firm_a.firm.slug}{ORGS}{firm_b.organisation.public_id}/",
        headers={"Accept": "application/json"},
    )
    assert_error(detail, 404, "not_found")
    # The browsable API renders for people.
    page = client.get(f"/f/{firm_a.firm.slug}{ORGS}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "Harbour Lane Café" in page.content.decode()


def test_session_api_needs_mfa_where_the_firm_requires_it(client, firm_a):
    firm_a.firm.require_mfa = True
    firm_a.firm.save()
    client.force_login(firm_a.member(Role.ADMIN).user)
    response = client.get(f"/f/{firm_a.firm.slug}{ORGS}", headers={"Accept": "application/json"})
    assert_error(response, 403, "mfa_required")


@pytest.mark.parametrize("made_for", ["acts_for", "made_by"])
def test_keys_of_members_without_mfa_stop_when_the_firm_requires_it(
    client, firm_a, firm_b, made_for
):
    from allauth.mfa.models import Authenticator

    from tenants.api_keys import api_key_create as key_create

    owner, admin = firm_a.member(Role.OWNER), firm_a.member(Role.ADMIN)
    Authenticator.objects.create(
        user=owner.user, type=Authenticator.Type.TOTP, data={"secret": "x"}
    )
    if made_for == "acts_for":
        _api_key, key = api_key_create(firm=firm_a.firm, member=admin)  # made by the owner
    else:  # a key that names nobody, made by the admin
        new = key_create(firm=firm_a.firm, actor=admin, name="Admin's", scopes=["read"])
        key = new.key
    # A preparer needs no MFA: a key acting for them, made by the enrolled owner, is not blocked.
    _api_key, preparer_key = api_key_create(firm=firm_a.firm, member=firm_a.member(Role.PREPARER))
    _api_key_b, key_b = api_key_create(firm=firm_b.firm, member=firm_b.member(Role.ADMIN))
    assert client.get(ORGS, headers=bearer(key)).status_code == 200

    firm_a.firm.require_mfa = True
    firm_a.firm.save()
    error = assert_error(client.get(ORGS, headers=bearer(key)), 403, "mfa_required")
    assert admin.user.email in error["message"] and "two-factor" in error["message"]
    assert client.get(ORGS, headers=bearer(preparer_key)).status_code == 200
    # Firm B does not require it: its admin's key goes on working.
    assert client.get(ORGS, headers=bearer(key_b)).status_code == 200
    # The admin enrolling unblocks the key.
    Authenticator.objects.create(
        user=admin.user, type=Authenticator.Type.TOTP, data={"secret": "y"}
    )
    assert client.get(ORGS, headers=bearer(key)).status_code == 200


def test_a_key_is_never_pointed_at_another_firm(client, firm_a, firm_b):
    _api_key, key = api_key_create(firm=firm_a.firm)
    assert client.get(f"/f/{firm_a.firm.slug}{ORGS}", headers=bearer(key)).status_code == 200
    response = client.get(f"/f/{firm_b.firm.slug}{ORGS}", headers=bearer(key))
    assert_error(response, 404, "not_found")
    assert "Kestrel" not in response.content.decode()


def test_the_docs_are_served_from_our_own_static_files(client, db):
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()
    schema = client.get("/api/v1/schema/", headers={"Accept": "application/json"})
    assert schema.status_code == 200
    spec = schema.json()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert all(p.startswith("/api/v1/") for p in spec["paths"])


@pytest.mark.parametrize(
    "position",
    ["abc", "1 OR 1=1", "\x00", "-1", "1.5", "٣", "99999999999999999999"],
    ids=["letters", "sql", "nul", "negative", "decimal", "arabic-digit", "too-big"],
)
@pytest.mark.parametrize("reverse", [False, True], ids=["next", "previous"])
def test_a_tampered_cursor_is_400_naming_the_cursor(client, firm_a, firm_b, position, reverse):
    """A cursor is base64 of a query string; one made by hand with a position that is not a row
    id must be refused, not reach the database (it used to answer 500)."""
    import base64
    from urllib.parse import urlencode

    _api_key, key = api_key_create(
        firm=firm_a.firm, scopes=[ApiKey.Scope.READ], member=firm_a.member(Role.OWNER)
    )
    raw = urlencode({"p": position, **({"r": "1"} if reverse else {})})
    cursor = base64.b64encode(raw.encode()).decode()
    error = assert_error(client.get(ORGS, {"cursor": cursor}, headers=bearer(key)), 400, "invalid")
    assert list(error["fields"]) == ["cursor"]
    # Firm B's key gets the same answer: the refusal says nothing about firm A's rows.
    _api_key_b, key_b = api_key_create(
        firm=firm_b.firm, scopes=[ApiKey.Scope.READ], member=firm_b.member(Role.OWNER)
    )
    error_b = assert_error(
        client.get(ORGS, {"cursor": cursor}, headers=bearer(key_b)), 400, "invalid"
    )
    assert error_b == error


def test_json_answers_are_attachments_and_the_browsable_api_is_not(client, firm_a, firm_b):
    """ASVS 14.4.2: a browser sent to an API URL saves its JSON rather than rendering it; that
    holds for errors and for another firm's id (404) too."""
    _api_key, key = api_key_create(firm=firm_a.firm)
    listed = client.get(ORGS, headers=bearer(key))
    other = client.get(f"{ORGS}{firm_b.organisation.public_id}/", headers=bearer(key))
    unsigned = client.get(ORGS)
    assert (listed.status_code, other.status_code, unsigned.status_code) == (200, 404, 401)
    for response in (listed, other, unsigned):
        assert response["Content-Type"] == "application/json"
        assert response["Content-Disposition"] == 'attachment; filename="api.json"'

    client.force_login(firm_a.member(Role.VIEWER).user)
    page = client.get(f"/f/{firm_a.firm.slug}{ORGS}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert not page.has_header("Content-Disposition")
