from django.shortcuts import render
from django.utils import timezone

from production.selectors import pizzeria_hours_on, pizzeria_is_open, pizzeria_list


def home(request):
    now = timezone.now()
    today = timezone.localdate(now)
    pizzerias = [
        {
            "pizzeria": pizzeria,
            "is_open": pizzeria_is_open(pizzeria, at=now),
            "today_hours": pizzeria_hours_on(pizzeria, today),
        }
        for pizzeria in pizzeria_list()
    ]
    return render(request, "ventes/home.html", {"pizzerias": pizzerias})
