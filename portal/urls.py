from django.contrib.auth import views as auth_views
from django.urls import path

from portal import tracking, views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("account/check-email/", views.check_email, name="check_email"),
    path("account/resend-verification/", views.resend_verification, name="resend_verification"),
    path("account/verify/<str:token>/", views.verify_email, name="verify_email"),
    path("account/password-reset/", views.password_reset, name="password_reset"),
    path(
        "account/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="portal/password_reset_done.html"),
        name="password_reset_done",
    ),
    path("account/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path(
        "account/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="portal/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("deposit/", views.deposit, name="deposit"),
    path("deposit/procedures/", views.deposit_procedures, name="deposit_procedures"),
    path("deposits/", views.deposits, name="deposits"),
    path("deposits/<id:pk>/", views.deposit_detail, name="deposit_detail"),
    path("deposits/<id:pk>/receipt.pdf", views.deposit_receipt, name="deposit_receipt"),
    path("deposits/<id:pk>/complete/", tracking.complete, name="deposit_complete"),
    path("deposits/<id:pk>/letters/<id:reply_id>.pdf", tracking.letter, name="deposit_letter"),
    path("deposits/<id:pk>/attestation.pdf", tracking.attestation, name="deposit_attestation"),
    path("letters/", views.letters, name="letters"),
    path("letters/<id:pk>.pdf", views.letter_pdf, name="letter_pdf"),
    path("notifications/", tracking.notifications, name="notifications"),
    path("account/access-log/", tracking.access_log, name="access_log"),
    path("track/", tracking.track, name="track"),
    path("track/request/", tracking.tracked, name="tracked"),
    path("track/request/receipt.pdf", tracking.tracked_receipt, name="tracked_receipt"),
    path("track/request/letters/<id:reply_id>.pdf", tracking.tracked_letter, name="tracked_letter"),
    path("track/request/attestation.pdf", tracking.tracked_attestation, name="tracked_attestation"),
    path("procedures/", tracking.catalogue_index, name="catalogue_index"),
    path("procedures/<str:code>/", tracking.catalogue, name="catalogue"),
    path("verify/", views.verify, name="verify"),
    path("v/<str:token>", views.verify_token, name="verify_token"),
    path("verify/root-ca.pem", views.ca_certificate, name="ca_certificate"),
    path("verify/root-ca.crl.pem", views.crl, name="crl"),
]
