from django.core.management.base import BaseCommand
from maintenance_mode.core import get_maintenance_mode, set_maintenance_mode


class Command(BaseCommand):
    help = "Mode maintenance partagé par tous les serveurs : on, off ou status."

    def add_arguments(self, parser):
        parser.add_argument("state", choices=["on", "off", "status"])

    def handle(self, *args, state, **options):
        if state != "status":
            set_maintenance_mode(state == "on")
        self.stdout.write(f"maintenance : {'on' if get_maintenance_mode() else 'off'}")
