from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StarterConfig(AppConfig):
    """The starter catalogue a new commune loads, then edits: procedures with their legal basis,
    letter templates, a circuit, routing rules and the standard services."""

    name = "starter"
    verbose_name = _("Starter catalogue")
