from django.core.management.base import BaseCommand

from ocpizzapp.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Charge les données de démonstration (idempotent) et affiche les comptes."

    def handle(self, *args, **options):
        logins = seed_demo()
        self.stdout.write(self.style.SUCCESS("Données de démonstration prêtes."))
        self.stdout.write(f"Mot de passe de tous les comptes : {DEMO_PASSWORD}")
        self.stdout.write("Espace équipe : /equipe/connexion/")
        for login in logins:
            self.stdout.write(f"  {login.email:<32} {login.role:<22} {login.pizzeria}")
