from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "workflow"
    verbose_name = _("Processing of requests")

    def ready(self) -> None:
        from documents.references import blob_reader
        from workflow.references import signed_drafts

        blob_reader(signed_drafts)
