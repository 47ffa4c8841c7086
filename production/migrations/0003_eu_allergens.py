from django.db import migrations

# Annex II of EU regulation 1169/2011: the allergens every menu must declare.
EU_ALLERGENS = [
    ("gluten", "Gluten"),
    ("crustaces", "Crustacés"),
    ("oeufs", "Œufs"),
    ("poissons", "Poissons"),
    ("arachides", "Arachides"),
    ("soja", "Soja"),
    ("lait", "Lait"),
    ("fruits-a-coque", "Fruits à coque"),
    ("celeri", "Céleri"),
    ("moutarde", "Moutarde"),
    ("sesame", "Graines de sésame"),
    ("sulfites", "Anhydride sulfureux et sulfites"),
    ("lupin", "Lupin"),
    ("mollusques", "Mollusques"),
]


def create_allergens(apps, schema_editor):
    Allergen = apps.get_model("production", "Allergen")
    for code, name in EU_ALLERGENS:
        Allergen.objects.update_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("production", "0002_initial")]

    operations = [migrations.RunPython(create_allergens, migrations.RunPython.noop)]
