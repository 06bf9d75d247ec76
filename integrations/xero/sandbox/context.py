"""What an accounting endpoint handler receives: the organisation, the request and the time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from integrations.xero.sandbox.behaviour import Behaviour
from integrations.xero.sandbox.model import SandboxOrganisation
from integrations.xero.sandbox.wsgi import Request, Response, envelope, json_response


@dataclass
class ApiContext:
    org: SandboxOrganisation
    request: Request
    now: dt.datetime
    today: dt.date
    behaviour: Behaviour = field(default_factory=Behaviour)

    def ok(self, key: str, items: Any, **extra: Any) -> Response:
        return json_response(200, envelope(self.now, key, items, **extra))


Handler = Callable[[ApiContext], Response]
