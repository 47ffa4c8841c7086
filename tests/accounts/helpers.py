from django.contrib.auth import SESSION_KEY

from accounts.models import User

PASSWORD = "motdepasse-solide"


def logged_in_user(client) -> User | None:
    user_id = client.session.get(SESSION_KEY)
    return User.objects.get(pk=user_id) if user_id else None


def describes(html: str, *, field_id: str) -> bool:
    """The input ``field_id`` points at its error list, which sits beside it."""
    return (
        f'id="{field_id}_error"' in html
        and f"{field_id}_error" in _input_tag(html, field_id).split("aria-describedby")[1]
    )


def _input_tag(html: str, field_id: str) -> str:
    start = html.index(f'id="{field_id}"')
    return html[html.rindex("<", 0, start) : html.index(">", start)]
