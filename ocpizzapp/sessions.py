"""Sessions: a guest's in a signed cookie, a signed-in user's in the database.

A guest's session holds a cart, the checkout form's tokens and the address he
searched: every visit to the shop writes it, and written to the database that
is a transaction per request (three per order) for data the browser can carry
itself. Signed, it cannot be forged; replayed, it gives its holder back an old
cart of his own (the form tokens' orders are found again by their idempotency
key, in the database).

A session with a signed-in user stays in the database, where signing out or
an operator deleting it ends it at once on every server, whatever copy of the
cookie survives. So does a guest's session too big for a cookie.
"""

from django.contrib.auth import SESSION_KEY as USER_KEY
from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import CreateError
from django.core import signing

SALT = "ocpizzapp.sessions.guest"

# Beyond this, the browser might refuse the cookie (4 096 bytes with the others): the database keeps it.
COOKIE_LIMIT = 2_000


def in_cookie(session_key: str | None) -> bool:
    """A signed cookie session: its key is its data (a database key is 32 letters and digits)."""
    return session_key is not None and ":" in session_key


class SessionStore(db.SessionStore):
    def load(self) -> dict:
        key = self.session_key
        if key is None or not in_cookie(key):
            return super().load()
        try:
            return signing.loads(key, serializer=self.serializer, max_age=self.get_session_cookie_age(), salt=SALT)
        except Exception:  # a bad signature, an expired or mangled cookie: a new session, as the database does
            self._session_key = None
            return {}

    def _signed(self, data: dict) -> str | None:
        """The cookie that carries ``data``, or None when the database must keep it."""
        if USER_KEY in data:
            return None
        signed = signing.dumps(data, compress=True, salt=SALT, serializer=self.serializer)
        return signed if len(signed) <= COOKIE_LIMIT else None

    def create(self) -> None:
        """A new session starts in the cookie; ``save`` puts it in the database when it must be there."""
        self._session_key = None
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        signed = self._signed(data)
        if signed is not None:
            if self.session_key and not in_cookie(self.session_key):
                super().delete()  # it leaves the database (a guest's session from before, grown smaller)
            self._session_key = signed
            return
        if self.session_key is None or in_cookie(self.session_key):
            self._database_create()
        else:
            super().save(must_create=must_create)

    def _database_create(self) -> None:
        while True:
            self._session_key = self._get_new_session_key()  # type: ignore[attr-defined]
            try:
                super().save(must_create=True)
            except CreateError:
                continue
            return

    def delete(self, session_key: str | None = None) -> None:
        if not in_cookie(session_key or self.session_key):
            super().delete(session_key)
