"""Every signed-in page, under /dashboard/ ("dashboard:<name>")."""

from django.urls import path

from dashboard.views import (
    account,
    collections,
    home,
    jobs,
    keys,
    plan,
    playground,
    webhooks,
)

app_name = "dashboard"

urlpatterns = [
    path("", home.home, name="home"),
    path("keys/", keys.key_list, name="keys"),
    path("keys/<str:key_id>/revoke/", keys.key_revoke, name="key-revoke"),
    path("plan/", plan.plan, name="plan"),
    path("plan/request/", plan.plan_request, name="plan-request"),
    path("account/delete/", account.account_delete, name="account-delete"),
    path("playground/", playground.playground, name="playground"),
    path("collections/", collections.collection_index, name="collections"),
    path("collections/<uuid:pk>/", collections.collection_detail, name="collection-detail"),
    path("collections/<uuid:pk>/delete/", collections.collection_delete,
         name="collection-delete"),
    path("collections/<uuid:pk>/faces/<uuid:face_id>/delete/", collections.face_delete,
         name="face-delete"),
    path("jobs/", jobs.job_index, name="jobs"),
    path("jobs/status.json", jobs.job_states, name="job-states"),
    path("jobs/<uuid:pk>/", jobs.job_detail, name="job-detail"),
    path("jobs/<uuid:pk>/cancel/", jobs.job_cancel, name="job-cancel"),
    path("jobs/<uuid:pk>/delete/", jobs.job_delete, name="job-delete"),
    path("webhooks/", webhooks.webhooks, name="webhooks"),
]
