from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParapheurConfig(AppConfig):
    name = "parapheur"
    verbose_name = _("Parapheur")

    def ready(self) -> None:
        from documents.references import blob_reader
        from parapheur.references import folder_files

        blob_reader(folder_files)
