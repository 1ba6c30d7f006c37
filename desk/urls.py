from django.urls import path

from desk import catalogue, processing, views

app_name = "desk"
urlpatterns = [
    path("", views.home, name="home"),
    path("<str:code>/", views.register, name="register"),
    path("<str:code>/register/new/", views.counter_new, name="counter_new"),
    path("<str:code>/c/<int:pk>/", views.correspondence, name="correspondence"),
    path("<str:code>/c/<int:pk>/receipt.pdf", views.correspondence_receipt, name="correspondence_receipt"),
    path("<str:code>/c/<int:pk>/files/<int:position>", views.attachment, name="attachment"),
    path("<str:code>/log/", views.register_log, name="register_log"),
    path("<str:code>/inbox/", processing.inbox, name="inbox"),
    path("<str:code>/inbox/assign/", processing.bulk_assign, name="bulk_assign"),
    path("<str:code>/notes/new/", processing.note_new, name="note_new"),
    path("<str:code>/c/<int:pk>/act/<str:action>/", processing.case_action, name="case_action"),
    path("<str:code>/c/<int:pk>/reply/", processing.reply, name="reply"),
    path("<str:code>/c/<int:pk>/sealed/<str:token>.pdf", processing.sealed_document, name="sealed_document"),
    path("<str:code>/procedures/", catalogue.procedures, name="procedures"),
    path("<str:code>/procedures/new/", catalogue.procedure_edit, name="procedure_new"),
    path("<str:code>/procedures/<int:pk>/", catalogue.procedure_edit, name="procedure_edit"),
    path("<str:code>/calendar/", catalogue.calendar, name="calendar"),
    path("<str:code>/calendar/<int:pk>/delete/", catalogue.calendar_delete, name="calendar_delete"),
    path("<str:code>/routing/", catalogue.routing, name="routing"),
    path("<str:code>/routing/<int:pk>/delete/", catalogue.routing_delete, name="routing_delete"),
    path("<str:code>/letters/", catalogue.letters, name="letters"),
    path("<str:code>/letters/<int:pk>/", catalogue.letters, name="letter_edit"),
    path("<str:code>/services/", views.services, name="services"),
    path("<str:code>/staff/", views.staff, name="staff"),
    path("<str:code>/staff/<int:membership_id>/revoke/", views.staff_revoke, name="staff_revoke"),
]
