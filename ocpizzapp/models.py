from django.db import models


class MaintenanceState(models.Model):
    """The one row holding the maintenance switch, shared by every app server."""

    value = models.CharField(max_length=200, default="0")
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "mode maintenance"

    def __str__(self):
        return self.value
