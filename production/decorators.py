"""The one gate of the staff screens: who may open them, and for which pizzeria."""

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from .selectors import staff_member_for, staff_pizzeria


def staff_only(roles: Iterable[str], *, refused: str | None = None) -> Callable:
    """Let through the staff members of ``roles`` only, on GET and POST alike.

    Anonymous visitors go to the staff login; anyone else without one of the
    roles (a customer, a rider on the kitchen screen) gets 403, with the
    ``refused`` template when the screen says more than the generic page. When the URL
    names a pizzeria (``slug``), it must be the member's own (managers: any),
    else 404, and the view receives it as ``pizzeria``. ``request.staff`` is
    the member.
    """
    allowed = frozenset(roles)

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                if request.htmx:
                    # A live panel whose session ran out: send the whole page to the login, not the panel.
                    return HttpResponseClientRedirect(reverse("production:login"))
                return redirect_to_login(request.get_full_path(), reverse("production:login"))
            member = staff_member_for(user=request.user)
            if member is None or member.role not in allowed:
                if refused is not None:
                    return render(request, refused, status=403)
                raise PermissionDenied("Cette page est réservée à l'équipe.")
            request.staff = member
            if "slug" in kwargs:
                pizzeria = staff_pizzeria(member=member, slug=kwargs.pop("slug"))
                if pizzeria is None:
                    raise Http404("Pizzeria inconnue.")
                kwargs["pizzeria"] = pizzeria
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
