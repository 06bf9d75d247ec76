"""Xero's answers spoiled on the way, as a broken proxy, a bad capture or a Xero that reads its
own documentation differently would spoil them: the sync must notice, say so and lose nothing."""

import json

import httpx


class Mutating(httpx.BaseTransport):
    """Hands Xero's answer for one endpoint to a function that spoils it, as a broken proxy or a
    bad capture would."""

    def __init__(self, app, path_part: str, mutate):
        self.inner = httpx.WSGITransport(app=app)
        self.path_part, self.mutate = path_part, mutate

    def handle_request(self, request):
        response = self.inner.handle_request(request)
        # Only a report is spoiled: a refusal (a 429 when a loaded machine makes the sandbox's
        # compressed minute run out) goes through as Xero sent it, for the client to retry.
        if self.path_part not in request.url.path or response.status_code != 200:
            return response
        response.read()
        body = self.mutate(json.loads(response.content))
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(
            response.status_code, headers={"Content-Type": "application/json"}, content=content
        )


def drop_option_columns(name: str):
    """A report that leaves an option out although it has figures (as an 'omitted options' Xero
    would if it misjudged them): its columns are removed, header and rows alike."""

    def spoil(body):
        rows = body["Reports"][0]["Rows"]
        header = [c["Value"] for c in rows[0]["Cells"]]
        drop = {
            i for i, label in enumerate(header) if label == name or label.startswith(name + " ")
        }
        for row in [rows[0], *(r for s in rows[1:] for r in s.get("Rows", []))]:
            row["Cells"] = [c for i, c in enumerate(row["Cells"]) if i not in drop]
        return body

    return spoil
