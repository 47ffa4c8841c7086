"""A model shipped without its migration, as an update that forgot it would."""

from django.db import models


class Coupon(models.Model):
    code = models.CharField(max_length=20)

    def __str__(self):
        return self.code
