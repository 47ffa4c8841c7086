from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from ocpizzapp.demo import OTHER_PRODUCTS, PIZZAS, demo_slug
from ocpizzapp.pictures import WIDTHS, pictures_write
from production.models import Product


class Command(BaseCommand):
    help = "Dessine les images de la carte de démonstration (WebP) sous static/img/produits/."

    def handle(self, *args, **options):
        products = [(demo_slug(name), name, Product.PIZZA, description) for name, *_rest, description in PIZZAS]
        products += [
            (demo_slug(name), name, category, description)
            for name, category, _price, _vat, _stock, description in OTHER_PRODUCTS
        ]
        written = pictures_write(folder=Path(settings.BASE_DIR) / "static" / "img" / "produits", products=products)
        self.stdout.write(f"{len(written)} images écrites ({len(products)} produits × {len(WIDTHS)} largeurs).")
