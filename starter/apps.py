from django.apps import AppConfig


class StarterConfig(AppConfig):
    """The starter catalogue a new commune loads, then edits: procedures with their legal basis,
    letter templates, a circuit, routing rules and the standard services."""

    name = "starter"
