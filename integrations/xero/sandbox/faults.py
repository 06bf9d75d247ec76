"""Fault injection per organisation and endpoint, so the product's retries can be tested.

A fault matches an organisation (tenant id, org key or "*") and an endpoint (a prefix of the
path after /api.xro/2.0/, e.g. "Reports" or "Budgets", or "*"). It fires either for the next
`count` matching calls or with `probability` per call from a seeded RNG (deterministic for a
given order of calls). `revoke_token` instead lets `after` calls through, then revokes the
caller's grant as if the user disconnected the app.
"""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = frozenset(
    {
        "status",
        "timeout",
        "rate_limit",
        "malformed_json",
        "truncated_json",
        "revoke_token",
        "latency",
    }
)


@dataclass
class FaultSpec:
    kind: str
    organisation: str = "*"
    endpoint: str = "*"
    # How often: the next `count` matching calls, or each call with `probability`.
    count: int | None = None
    probability: float | None = None
    status: int = 500  # kind "status": 500, 502, 503...
    delay_ms: int = 0  # kind "latency": added delay; kind "timeout": how long before the 504
    retry_after: int = 1  # kind "rate_limit": Retry-After in seconds
    after: int = 0  # kind "revoke_token": calls let through before the revocation
    seed: int = 7
    fault_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(KINDS)}")
        if self.kind != "revoke_token" and (self.count is None) == (self.probability is None):
            raise ValueError("give exactly one of count or probability")
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ValueError("probability must be between 0 and 1")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultSpec:
        known = {name for name in cls.__dataclass_fields__ if name != "fault_id"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def matches(self, tenant_id: str, org_key: str, endpoint: str) -> bool:
        org_ok = self.organisation in ("*", tenant_id, org_key)
        wanted = self.endpoint.removeprefix("/api.xro/2.0/").lower()
        return org_ok and (wanted == "*" or endpoint.lower().startswith(wanted))


@dataclass
class _ActiveFault:
    spec: FaultSpec
    rng: random.Random
    remaining: int | None
    seen: int = 0


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_ActiveFault] = []

    def add(self, spec: FaultSpec) -> FaultSpec:
        with self._lock:
            self._faults.append(_ActiveFault(spec, random.Random(spec.seed), spec.count))
        return spec

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[FaultSpec]:
        with self._lock:
            return [f.spec for f in self._faults]

    def draw(self, tenant_id: str, org_key: str, endpoint: str) -> list[FaultSpec]:
        """The faults that fire for this call, in the order they were added."""
        fired = []
        with self._lock:
            for fault in self._faults:
                spec = fault.spec
                if not spec.matches(tenant_id, org_key, endpoint):
                    continue
                fault.seen += 1
                if spec.kind == "revoke_token":
                    if fault.seen > spec.after:
                        fired.append(spec)
                elif fault.remaining is not None:
                    if fault.remaining > 0:
                        fault.remaining -= 1
                        fired.append(spec)
                elif fault.rng.random() < (spec.probability or 0):
                    fired.append(spec)
            # Spent "next N" faults and fired revocations are done.
            self._faults = [
                f
                for f in self._faults
                if not (f.remaining == 0 and f.spec.kind != "revoke_token")
                and not (f.spec.kind == "revoke_token" and f.seen > f.spec.after)
            ]
        return fired
