"""The platform administrator's form to add an administration offers the starter catalogue.

The choice is unchecked: nothing is loaded unless it is ticked. The administrations' admin
(tenancy.admin) is replaced here by one that adds the choice to the add form only, since
tenancy, listed before the catalogue's apps, cannot know of it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import Refused
from starter.catalogue import starter_catalogue
from starter.services import starter_catalogue_load
from tenancy import admin as tenancy_admin
from tenancy.models import Administration, User


def offer_summary() -> str:
    catalogue = starter_catalogue()
    return _(
        "For a commune: %(procedures)d procedures with their legal basis and delay, %(templates)d letter "
        "templates, %(circuits)d visa, signature and seal circuit, %(rules)d routing rules and the standard "
        "services it lacks. Everything can be edited afterwards; nothing is loaded unless this is ticked."
    ) % {
        "procedures": len(catalogue.procedures),
        "templates": len(catalogue.letter_templates),
        "circuits": len(catalogue.circuits),
        "rules": len(catalogue.routing_rules),
    }


class AdministrationAddForm(forms.ModelForm[Administration]):
    load_starter_catalogue = forms.BooleanField(
        label=gettext_lazy("Load the starter catalogue"), required=False, initial=False
    )

    class Meta:
        model = Administration
        fields = ["name_ar", "name_fr", "name_zgh", "code", "kind", "region", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["load_starter_catalogue"].help_text = offer_summary()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("load_starter_catalogue") and data.get("kind") != starter_catalogue().kind:
            self.add_error(
                "load_starter_catalogue",
                _("The starter catalogue is a commune's: untick it, or choose the kind “Commune”."),
            )
        return data


admin.site.unregister(Administration)


@admin.register(Administration)
class AdministrationAdmin(tenancy_admin.AdministrationAdmin):
    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = AdministrationAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        named = {name for _title, options in fieldsets for name in options.get("fields", ())}
        if obj is None and "load_starter_catalogue" not in named:  # fieldsets declared without it
            fieldsets.append((None, {"fields": ["load_starter_catalogue"]}))
        return fieldsets

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # After the inlines: services typed in the form are the administration's before the load,
        # which keeps them and creates only the standard services whose codes are missing.
        super().save_related(request, form, formsets, change)
        if change:
            return
        administration = form.instance
        if not form.cleaned_data.get("load_starter_catalogue"):
            if administration.kind == starter_catalogue().kind:
                # The address and the command read left to right, isolated: in an Arabic sentence
                # a bare URL loses its order (its closing parenthesis and slashes move).
                url = settings.PUBLIC_URL + reverse("desk:starter", args=[administration.code])
                text = _(
                    "The catalogue of %(code)s is empty. Its administrators can load the starter catalogue "
                    "from the desk (%(url)s), or an operator with the command: %(command)s"
                )
                messages.info(
                    request,
                    mark_safe(  # noqa: S308 (the translation is escaped, the values are built escaped)
                        conditional_escape(text)
                        % {
                            "code": format_html('<bdi dir="ltr">{}</bdi>', administration.code),
                            "url": format_html('<a href="{}" dir="ltr">{}</a>', url, url),
                            "command": format_html(
                                '<code dir="ltr">manage.py load_catalogue {}</code>', administration.code
                            ),
                        }
                    ),
                )
            return
        actor = request.user
        assert isinstance(actor, User)  # the admin site lets in only signed-in platform administrators
        try:
            report = starter_catalogue_load(actor=actor, administration=administration)
        except Refused as refused:
            messages.error(request, refused.message)
            return
        messages.success(
            request,
            _("Starter catalogue loaded into %(code)s. Created: %(created)d; kept as they were: %(kept)d.")
            % {"code": administration.code, "created": report.created_count, "kept": report.kept_count},
        )
