"""The partner REST API (Django REST framework), versioned under /api/v1/.

How a request finds its firm (one rule per way in, never a parameter):

- Programs send `Authorization: Bearer <key>` to `/api/v1/...`. The firm is the key's firm;
  nothing in the request can name another. The key's scopes (read, write, approve) and, when it
  names a member, that member's role decide what it may do.
- People signed in to the app (the browser, the browsable API) use the same views at
  `/f/<firm_slug>/api/v1/...`: the firm comes from the URL and the user's membership of it,
  checked with the same `role_allows` as the screens, exactly as for `firm_view`.

Keeping the two apart means a session cookie can never act on a firm the URL does not name, and a
key can never be pointed at another firm (a key on a `/f/<other>/` URL gets 404). The published
schema lists the `/api/v1/` routes only; the session mount mirrors them.

Adding an endpoint: subclass `FirmAPIView` (tenants/api/base.py), set `firm_actions`, give it
Input/Output serializers and a thin handler calling a selector or service, and add one `path()`
to `ENDPOINTS` in config/api_urls.py. Both mounts, the schema, the tenant isolation sweep and
the schemathesis run pick it up.
"""
