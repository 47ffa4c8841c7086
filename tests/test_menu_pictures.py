"""The demo menu's pictures are drawn by the project (ocpizzapp/pictures.py), committed at every width the menu's
srcset offers, and shown on the menu without shifting it."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from PIL import Image

from ocpizzapp.demo import OTHER_PRODUCTS, PIZZAS, demo_slug
from ocpizzapp.pictures import WIDTHS, draw_pizza, pictures_write
from production.models import Product

FOLDER = Path(settings.BASE_DIR) / "static" / "img" / "produits"


def test_each_picture_is_written_at_every_width_in_webp(tmp_path):
    written = pictures_write(folder=tmp_path, products=[("regina", "Regina", "pizza", "Tomate, jambon blanc.")])

    assert sorted(path.name for path in written) == sorted(f"regina-{width}.webp" for width in WIDTHS)
    for width in WIDTHS:
        with Image.open(tmp_path / f"regina-{width}.webp") as image:
            assert (image.format, image.size) == ("WEBP", (width, width))


def test_a_pizza_always_looks_the_same_and_shows_its_toppings():
    assert (
        draw_pizza("Regina", "Tomate, jambon blanc.").tobytes()
        == draw_pizza("Regina", "Tomate, jambon blanc.").tobytes()
    )
    plain, with_ham = draw_pizza("Margherita", "Tomate, mozzarella."), draw_pizza("Margherita", "Tomate, jambon blanc.")
    ham = (226, 150, 150)
    assert ham not in {colour for _count, colour in plain.getcolors(maxcolors=1 << 20)}
    assert any(
        abs(r - ham[0]) + abs(g - ham[1]) + abs(b - ham[2]) < 30 for _n, (r, g, b) in with_ham.getcolors(1 << 20)
    )


def test_every_demo_product_has_its_pictures_in_the_repository():
    names = [name for name, *_rest in PIZZAS] + [name for name, *_rest in OTHER_PRODUCTS]
    missing = [
        f"{demo_slug(name)}-{width}.webp"
        for name in names
        for width in WIDTHS
        if not (FOLDER / f"{demo_slug(name)}-{width}.webp").is_file()
    ]
    assert missing == [], "run manage.py draw_pictures"


@pytest.mark.django_db
def test_the_menu_shows_a_drawn_picture_in_every_width_with_its_size_set(client, shop):
    Product.objects.filter(pk=shop.margherita.pk).update(picture="margherita")

    html = " ".join(client.get(f"/pizzeria/{shop.pizzeria.slug}/").content.decode().split())

    assert (
        'srcset="/static/img/produits/margherita-160.webp 160w, /static/img/produits/margherita-320.webp 320w,' in html
    )
    assert 'sizes="112px" width="112" height="112" alt="" loading="lazy" decoding="async" class="product-photo"' in html


@pytest.mark.django_db
def test_seed_demo_gives_each_product_its_picture():
    call_command("seed_demo", verbosity=0)
    assert not Product.objects.filter(picture="").exists()
    assert Product.objects.get(name="Margherita").picture == "margherita"
