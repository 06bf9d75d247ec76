"""Errors of the Xero integration. Each message says what happened and what to do."""


class XeroError(Exception):
    """Base of every Xero integration error."""


class XeroPayloadError(XeroError):
    """Xero (or a capture) sent something we cannot read. Names the endpoint and the field."""

    def __init__(self, endpoint: str, field: str, problem: str):
        self.endpoint = endpoint
        self.field = field
        self.problem = problem
        super().__init__(f"Xero {endpoint}: {field}: {problem}")


class XeroHttpError(XeroError):
    def __init__(self, endpoint: str, status: int, detail: str):
        self.endpoint = endpoint
        self.status = status
        self.detail = detail
        super().__init__(f"Xero {endpoint} answered {status}: {detail}")


class XeroUnavailable(XeroError):
    """Xero kept failing (5xx, timeouts) after the retries; the sync can be run again later."""


class XeroAuthError(XeroError):
    """The connection cannot authenticate: the firm must connect Xero again."""


class XeroForbidden(XeroHttpError):
    """Xero refused: a missing scope, a user without report access, or a removed organisation."""
