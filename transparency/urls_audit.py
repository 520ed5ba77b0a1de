"""URLs of the auditor web UI, included under ``/audit/`` (namespace ``audit``)."""

from django.contrib.auth.views import LogoutView
from django.urls import path, reverse_lazy

from transparency import views_audit

app_name = "audit"

urlpatterns = [
    path("", views_audit.HeadView.as_view(), name="head"),
    path("login/", views_audit.AuditLoginView.as_view(), name="login"),
    path(
        "logout/",
        LogoutView.as_view(next_page=reverse_lazy("audit:login")),
        name="logout",
    ),
    path("checkpoints/", views_audit.CheckpointListView.as_view(), name="checkpoints"),
    path("entries/", views_audit.EntryListView.as_view(), name="entries"),
    path(
        "entries/<int:leaf_index>/",
        views_audit.EntryDetailView.as_view(),
        name="entry",
    ),
    path("consistency/", views_audit.ConsistencyView.as_view(), name="consistency"),
]
