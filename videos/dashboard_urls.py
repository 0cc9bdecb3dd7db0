"""Dashboard pages of the videos app, included under /dashboard/."""

from django.urls import path

from videos import views

urlpatterns = [
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/status.json", views.job_states, name="job-states"),
    path("jobs/<uuid:pk>/", views.job_detail, name="job-detail"),
    path("webhooks/", views.webhooks_page, name="webhooks"),
]
