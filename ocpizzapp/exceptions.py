"""Typed business errors shared by both apps.

Each carries a stable ``code`` (for logs, tests and API clients) and a
message in French that a screen may show as it is.
"""


class BusinessError(Exception):
    code = "business_error"
    default_message = "Opération impossible."

    def __init__(self, message: str | None = None, **details):
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)
