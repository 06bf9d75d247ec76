"""How the tests speak to the partner API: a key's bearer header, and the one error shape."""


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def assert_error(response, status: int, code: str) -> dict:
    """The API's error body: exactly {"error": {code, message, fields}}, with this status."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)
    return body["error"]
