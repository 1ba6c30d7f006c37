from django.urls import path

from exchange import views

app_name = "exchange"
urlpatterns = [
    path("v1/installation", views.installation, name="installation"),
    path("v1/directory", views.directory, name="directory"),
    path("v1/inbox", views.inbox, name="inbox"),
    path("v1/document-requests", views.document_requests, name="document_requests"),
    path("v1/document-answers", views.document_answers, name="document_answers"),
    path("v1/checkpoints", views.checkpoints, name="checkpoints"),
    path("v1/checkpoints/kept", views.checkpoints_kept, name="checkpoints_kept"),
]
