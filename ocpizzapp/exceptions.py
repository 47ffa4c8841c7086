"""Typed business errors shared by both apps.

Each carries a stable ``code`` (for logs, tests and API clients), a message in
French that a screen may show as it is, and ``status``: what the error means
in HTTP. ``ocpizzapp.errors`` turns the ones a view lets through into the
response, in one place.
"""

from http import HTTPStatus
from typing import Any


class BusinessError(Exception):
    code = "business_error"
    status = HTTPStatus.BAD_REQUEST
    default_message = "Opération impossible."

    def __init__(self, message: str | None = None, **details: Any):
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)
