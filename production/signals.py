"""Changes made outside the stock services (back-office, data fixes) also
invalidate the cached menus (production/cache.py)."""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .cache import catalogue_changed, stock_changed
from .models import (
    Allergen,
    Formula,
    FormulaChoice,
    FormulaSlot,
    FormulaWindow,
    Ingredient,
    MenuOverride,
    OpeningException,
    OpeningHours,
    Option,
    OptionGroup,
    Pizzeria,
    Product,
    ProductSize,
    RecipeLine,
    Stock,
)


@receiver([post_save, post_delete], sender=Product)
@receiver([post_save, post_delete], sender=ProductSize)
@receiver([post_save, post_delete], sender=OptionGroup)
@receiver([post_save, post_delete], sender=Option)
@receiver([post_save, post_delete], sender=MenuOverride)
@receiver([post_save, post_delete], sender=RecipeLine)
@receiver([post_save, post_delete], sender=Ingredient)
@receiver([post_save, post_delete], sender=Allergen)
@receiver([post_save, post_delete], sender=Pizzeria)
@receiver([post_save, post_delete], sender=OpeningHours)
@receiver([post_save, post_delete], sender=OpeningException)
@receiver([post_save, post_delete], sender=Formula)
@receiver([post_save, post_delete], sender=FormulaWindow)
@receiver([post_save, post_delete], sender=FormulaSlot)
@receiver([post_save, post_delete], sender=FormulaChoice)
@receiver(m2m_changed, sender=Formula.pizzerias.through)
@receiver(m2m_changed, sender=Product.pizzerias.through)
@receiver(m2m_changed, sender=Ingredient.allergens.through)
def _catalogue_changed(**kwargs):
    catalogue_changed()


@receiver([post_save, post_delete], sender=Stock)
def _stock_line_changed(sender, instance, **kwargs):
    stock_changed(pizzeria_id=instance.pizzeria_id)
