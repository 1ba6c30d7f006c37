from django.apps import AppConfig


class ParapheurConfig(AppConfig):
    name = "parapheur"
    verbose_name = "Parapheur"
