"""URLs of the auditor web UI, included under ``/audit/`` (namespace ``audit``)
by ``config/urls.py``."""

from django.contrib.auth.views import LogoutView
from django.urls import path, reverse_lazy

from billing.auditor import views

app_name = "audit"

urlpatterns = [
    path("", views.HeadView.as_view(), name="head"),
    path("login/", views.AuditLoginView.as_view(), name="login"),
    path(
        "logout/",
        LogoutView.as_view(next_page=reverse_lazy("audit:login")),
        name="logout",
    ),
    path("checkpoints/", views.CheckpointListView.as_view(), name="checkpoints"),
    path("entries/", views.EntryListView.as_view(), name="entries"),
    path(
        "entries/<int:leaf_index>/",
        views.EntryDetailView.as_view(),
        name="entry",
    ),
    path("consistency/", views.ConsistencyView.as_view(), name="consistency"),
    path("trail/", views.StaffTrailView.as_view(), name="trail"),
    path("trail.jsonl", views.StaffTrailExportView.as_view(), name="trail_export"),
]
