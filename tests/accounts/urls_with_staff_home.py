"""The project's URLs plus a stand-in for the staff screens' entry at /equipe/."""

from django.http import HttpResponse
from django.urls import path

from ocpizzapp.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("equipe/", lambda request: HttpResponse("équipe"), name="staff_home"), *project_urlpatterns]
