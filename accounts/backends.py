"""Password sign-in, with what every staff request asks of its user read along with it."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class StaffAwareModelBackend(ModelBackend):
    """Django's ``ModelBackend``, whose user comes with its staff membership and pizzeria.

    The staff screens and the order pages ask who the user works for on every
    request (``StaffMember.objects.of_user``); reading it in the user's own
    query spares each of them a query.
    """

    def get_user(self, user_id):
        users = get_user_model()._default_manager.select_related("staff_member__pizzeria")
        try:
            user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
