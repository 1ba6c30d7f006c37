from django.urls import path

from desk import views

app_name = "desk"
urlpatterns = [
    path("", views.home, name="home"),
    path("<str:code>/", views.register, name="register"),
    path("<str:code>/register/new/", views.counter_new, name="counter_new"),
    path("<str:code>/c/<int:pk>/", views.correspondence, name="correspondence"),
    path("<str:code>/c/<int:pk>/receipt.pdf", views.correspondence_receipt, name="correspondence_receipt"),
    path("<str:code>/c/<int:pk>/files/<int:position>", views.attachment, name="attachment"),
    path("<str:code>/log/", views.register_log, name="register_log"),
    path("<str:code>/services/", views.services, name="services"),
    path("<str:code>/staff/", views.staff, name="staff"),
    path("<str:code>/staff/<int:membership_id>/revoke/", views.staff_revoke, name="staff_revoke"),
]
