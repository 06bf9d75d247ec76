"""Why a row changed, and who changed it, for its django-simple-history record.

Every service that writes a model with history says why, through `history_note`, before the
save (or delete) that makes the record.
"""

from __future__ import annotations

import enum

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models


class _Unset(enum.Enum):
    UNSET = enum.auto()


# The acting user left to simple_history: the signed-in user of the request
# (HistoryRequestMiddleware), nobody outside a request.
REQUEST_USER = _Unset.UNSET
CHANGE_REASON_LENGTH = 100


def history_note(
    instance: models.Model,
    *,
    reason: str,
    user: AbstractBaseUser | _Unset | None = REQUEST_USER,
) -> None:
    """Record `reason`, and `user` as who acted (None: nobody, e.g. a worker), in the history
    record of the instance's next save or delete."""
    # simple-history keeps a reason in 100 characters; a longer one (a person's edit reason
    # of up to 1,000) would fail the save. Its full text stays on the row (edit_reason, comment).
    if len(reason) > CHANGE_REASON_LENGTH:
        reason = reason[: CHANGE_REASON_LENGTH - 1] + "…"
    instance._change_reason = reason
    if user is not REQUEST_USER:
        instance._history_user = user
