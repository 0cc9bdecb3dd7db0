"""Public pages (landing, plans, API guide) and the account pages (sign-up, e-mail
verification, log-in, password reset). The signed-in pages live in the dashboard app."""

import logging

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import SignUpForm
from accounts.groups import ALL_GROUPS, DEFAULT_RATE_LIMITS, GROUP_LABELS
from accounts.models import Plan
from accounts.pages import base_url, limited_response
from accounts.selectors import SIGNUP_CLOSED, SIGNUP_VERIFY, plan_limit_list, signup_mode
from accounts.services import register_user, send_verification_email, verify_email
from accounts.throttles import (
    VERIFICATION_RESEND_RATE,
    ratelimit_failing_open,
    throttle_login,
    throttle_password_reset,
    throttle_signup,
)

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- public pages


def landing(request):
    return render(request, "landing.html", {"plans": Plan.objects.all()})


def plans(request):
    return render(
        request,
        "plans.html",
        {"plan_rows": plan_limit_list(), "groups": [(g, GROUP_LABELS[g]) for g in ALL_GROUPS]},
    )


def _limit(group):
    per_minute, per_second = DEFAULT_RATE_LIMITS[group]
    return f"{per_minute} requests/minute, burst {per_second}/second"


def _endpoints():
    """The contract (API.md), endpoint by endpoint, for the documentation page."""
    box = '{"x": 112, "y": 64, "width": 180, "height": 180}'
    image = ("image", "file", True, "JPEG, PNG, WebP or GIF (first frame); at least 64×64 px.")
    return [
        {
            "id": "compare", "method": "POST", "path": "/api/faces/compare", "group": "compare",
            "title": "1:1 face verification",
            "summary": "Compare the largest face of two images: are they the same person?",
            "params": [
                ("source", "file", True, "First face image."),
                ("target", "file", True, "Second face image."),
                ("threshold", "float", False,
                 "Largest descriptor distance counted as a match (default 0.6, 0–2)."),
            ],
            "curl": "curl -X POST {base}/api/faces/compare \\\n  -H \"X-API-Key: $KEY\" \\\n"
                    "  -F source=@photo1.jpg -F target=@photo2.jpg",
            "response": '{\n  "match": true,\n  "similarity": 0.94,\n  "confidence": "high",\n'
                        '  "distance": 0.35,\n  "threshold": 0.6,\n'
                        '  "faces_detected": {"image1": 1, "image2": 1},\n'
                        f'  "source_face": {{"box": {box}}},\n'
                        f'  "target_face": {{"box": {box}}}\n}}',
            "notes": "similarity is in [0, 1] and falls as distance grows; match is "
                     "distance ≤ threshold. No face in either image → 400 no_face_detected "
                     "with faces_detected in the body.",
            "errors": ["invalid_request", "missing_file", "unsupported_format",
                       "image_too_small", "corrupt_file", "no_face_detected", "file_too_large"],
        },
        {
            "id": "detect", "method": "POST", "path": "/api/faces/detect", "group": "compare",
            "title": "Face detection and attributes",
            "summary": "Every face with its box, landmarks and quality; age, gender, emotion "
                       "on request.",
            "params": [image, ("attributes", "string", False,
                               "Comma list of age, gender, emotion.")],
            "curl": "curl -X POST {base}/api/faces/detect -H \"X-API-Key: $KEY\" \\\n"
                    "  -F image=@group.jpg -F attributes=age,gender",
            "response": '{\n  "count": 1,\n  "faces": [{\n'
                        f'    "box": {box},\n'
                        '    "landmarks": {...},\n    "quality": 0.92,\n'
                        '    "attributes": {"age": 34, "gender": {"value": "female", '
                        '"confidence": 0.87}}\n  }]\n}',
            "notes": "Only the attributes asked for are returned.",
            "errors": ["invalid_request", "missing_file", "unsupported_format",
                       "image_too_small", "corrupt_file", "file_too_large"],
        },
        {
            "id": "collections", "method": "POST", "path": "/api/faces/collections",
            "group": "search", "title": "Collections (galleries for 1:N)",
            "summary": "Create, list, read and delete galleries of enrolled faces.",
            "params": [("name", "string", True, "Unique per account.")],
            "extra_routes": [
                ("POST", "/api/faces/collections", "create → 201 {id, name, face_count, "
                 "created_at}"),
                ("GET", "/api/faces/collections", "list (paginated)"),
                ("GET", "/api/faces/collections/{id}", "read one"),
                ("DELETE", "/api/faces/collections/{id}", "delete it and its faces"),
            ],
            "curl": "curl -X POST {base}/api/faces/collections -H \"X-API-Key: $KEY\" \\\n"
                    "  -H 'Content-Type: application/json' -d '{\"name\": \"staff\"}'",
            "response": '{"id": "7b1c…", "name": "staff", "face_count": 0, '
                        '"created_at": "2026-01-01T12:00:00Z"}',
            "notes": "Another account's collection is answered 404, never 403.",
            "errors": ["invalid_request", "not_found"],
        },
        {
            "id": "faces", "method": "POST", "path": "/api/faces/collections/{id}/faces",
            "group": "search", "title": "Enrol faces in a collection",
            "summary": "Add the largest face of an image under a label, with optional metadata.",
            "params": [image, ("label", "string", True, "Who this is, e.g. a person's id."),
                       ("metadata", "JSON object", False, "Returned with search matches.")],
            "extra_routes": [
                ("POST", "/api/faces/collections/{id}/faces", "enrol → 201 {id, label, box, "
                 "created_at}"),
                ("GET", "/api/faces/collections/{id}/faces", "list (paginated, ?label=)"),
                ("DELETE", "/api/faces/collections/{id}/faces/{face_id}", "remove one face"),
            ],
            "curl": "curl -X POST {base}/api/faces/collections/$COLLECTION/faces \\\n"
                    "  -H \"X-API-Key: $KEY\" -F image=@obama.jpg -F label=obama \\\n"
                    "  -F 'metadata={\"team\": \"blue\"}'",
            "response": f'{{"id": "c0ff…", "label": "obama", "box": {box}, '
                        '"created_at": "2026-01-01T12:00:00Z"}',
            "notes": "",
            "errors": ["invalid_request", "missing_file", "no_face_detected", "not_found",
                       "file_too_large"],
        },
        {
            "id": "search", "method": "POST", "path": "/api/faces/search", "group": "search",
            "title": "1:N face search",
            "summary": "Find the people of an image in one of your collections.",
            "params": [
                image,
                ("collection", "string", True, "The collection's id."),
                ("limit", "int", False, "Matches per face (default 5)."),
                ("threshold", "float", False, "Largest distance counted as a match."),
                ("max_faces", "int", False, "How many of the largest faces to search "
                 "(default 1, up to 20)."),
            ],
            "curl": "curl -X POST {base}/api/faces/search -H \"X-API-Key: $KEY\" \\\n"
                    "  -F image=@crowd.jpg -F collection=$COLLECTION -F max_faces=3",
            "response": '{\n  "faces_detected": 3,\n'
                        f'  "search_face": {{"box": {box}}},\n'
                        '  "matches": [{"face_id": "c0ff…", "label": "obama", '
                        '"similarity": 0.93, "distance": 0.33, "metadata": {}}],\n'
                        '  "faces": [{"box": {…}, "matches": […]}]\n}',
            "notes": "matches and search_face repeat the first (largest) face; matches are "
                     "sorted best first and only those within threshold.",
            "errors": ["invalid_request", "missing_file", "no_face_detected", "not_found",
                       "file_too_large"],
        },
        {
            "id": "batch", "method": "POST", "path": "/api/faces/batch-match", "group": "batch",
            "title": "N:N batch matching",
            "summary": "Compare every image with every other and group them by person.",
            "params": [("images", "file (repeated)", True,
                        "2 to 50 images on Pro, 2 to 100 on Enterprise."),
                       ("threshold", "float", False, "Largest distance counted as a match.")],
            "curl": "curl -X POST {base}/api/faces/batch-match -H \"X-API-Key: $KEY\" \\\n"
                    "  -F images=@a.jpg -F images=@b.jpg -F images=@c.jpg",
            "response": '{\n  "images": [{"index": 0, "filename": "a.jpg", "faces_detected": 1}],\n'
                        '  "pairs": [{"a": 0, "b": 1, "similarity": 0.91, "distance": 0.38, '
                        '"match": true}],\n  "groups": [[0, 1], [2]]\n}',
            "notes": "An image with no face is in no group. Not on the Free plan.",
            "errors": ["invalid_request", "plan_forbidden", "file_too_large"],
        },
        {
            "id": "vehicles", "method": "POST", "path": "/api/vehicles/detect",
            "group": "analyze", "title": "Vehicle detection",
            "summary": "Cars, trucks, buses, motorcycles and bicycles; number plates on request.",
            "params": [image,
                       ("min_confidence", "float", False, "Drop detections below this score."),
                       ("plates", "bool", False, "Read number plates (plate only where read).")],
            "curl": "curl -X POST {base}/api/vehicles/detect -H \"X-API-Key: $KEY\" \\\n"
                    "  -F image=@street.jpg -F plates=true",
            "response": '{\n  "vehicles": [{"type": "car", "confidence": 0.91, '
                        f'"box": {box},\n    "plate": {{"text": "AB123CD", "confidence": 0.95, '
                        '"box": {…}}}],\n  "counts": {"car": 3, "truck": 1}\n}',
            "notes": "",
            "errors": ["invalid_request", "missing_file", "unsupported_format",
                       "file_too_large"],
        },
        {
            "id": "body", "method": "POST", "path": "/api/body/analyze", "group": "analyze",
            "title": "Body analysis (people and pose)",
            "summary": "People with their boxes and the 17 COCO keypoints.",
            "params": [image],
            "curl": "curl -X POST {base}/api/body/analyze -H \"X-API-Key: $KEY\" "
                    "-F image=@people.jpg",
            "response": f'{{\n  "count": 2,\n  "people": [{{"box": {box}, "confidence": 0.88,\n'
                        '    "keypoints": [{"name": "nose", "x": 201, "y": 98, '
                        '"score": 0.97}, …]}]\n}',
            "notes": "Keypoints: nose, left/right eye, ear, shoulder, elbow, wrist, hip, knee, "
                     "ankle (left_eye, right_knee, …), in image pixels.",
            "errors": ["invalid_request", "missing_file", "unsupported_format",
                       "file_too_large"],
        },
        {
            "id": "video-analyze", "method": "POST", "path": "/api/videos/analyze",
            "group": "video", "title": "Video analysis (asynchronous)",
            "summary": "Upload a video; a job samples frames and runs the engines on them.",
            "params": [
                ("video", "file", True, "MP4, WebM, MOV or AVI; at most 500 MB and 10 minutes."),
                ("features", "string", False, "Comma list of faces, vehicles, bodies "
                 "(default all)."),
                ("sample_fps", "float", False, "Frames analysed per second (default 2)."),
                ("collection", "string", False, "Identify faces against this collection."),
                ("callback_url", "URL", False, "Receives a signed POST when the job ends."),
            ],
            "curl": "curl -X POST {base}/api/videos/analyze -H \"X-API-Key: $KEY\" \\\n"
                    "  -F video=@clip.mp4 -F features=faces,vehicles",
            "response": '{"job_id": "3f2a…", "status": "queued", '
                        '"status_url": "/api/videos/3f2a…"}',
            "notes": "202 Accepted with a Location header. Not on the Free plan.",
            "errors": ["invalid_request", "missing_file", "unsupported_format",
                       "plan_forbidden", "file_too_large"],
        },
        {
            "id": "video-status", "method": "GET", "path": "/api/videos/{job_id}",
            "group": "video_status", "title": "Video job status and results",
            "summary": "Poll a job; read its detections when it has completed.",
            "params": [],
            "extra_routes": [
                ("GET", "/api/videos", "your jobs, newest first"),
                ("GET", "/api/videos/{job_id}", "status, progress (0–100), summary"),
                ("GET", "/api/videos/{job_id}/results", "detections by timestamp (paginated)"),
                ("DELETE", "/api/videos/{job_id}", "cancel or delete"),
            ],
            "curl": "curl {base}/api/videos/$JOB -H \"X-API-Key: $KEY\"",
            "response": '{\n  "job_id": "3f2a…", "status": "processing", "progress": 40,\n'
                        '  "created_at": "…", "started_at": "…", "finished_at": null,\n'
                        '  "error": null, "summary": null,\n'
                        '  "results_url": "/api/videos/3f2a…/results"\n}',
            "notes": "status: queued → processing → completed | failed.",
            "errors": ["not_found", "plan_forbidden"],
        },
    ]


ERROR_CODES = [
    (400, "invalid_request, missing_file, unsupported_format, image_too_small, corrupt_file, "
          "no_face_detected", "Check the parameters and the files."),
    (401, "unauthorized", "Send a valid, active key in X-API-Key."),
    (403, "plan_forbidden", "Your plan does not include this endpoint: change plan."),
    (404, "not_found", "No such object in your account."),
    (405, "method_not_allowed", "Use the method shown for the endpoint."),
    (413, "file_too_large", "Send a smaller file, within your plan's limit."),
    (429, "rate_limited", "Wait Retry-After seconds, or change plan."),
    (500, "internal_error", "Retry later; quote the request_id when you contact us."),
]


def api_docs(request):
    base = request.build_absolute_uri("/").rstrip("/")
    endpoints = _endpoints()
    for endpoint in endpoints:
        endpoint["curl"] = endpoint["curl"].replace("{base}", base)
        endpoint["limit"] = _limit(endpoint["group"])
        endpoint["group_label"] = GROUP_LABELS[endpoint["group"]]
    return render(
        request,
        "docs/api.html",
        {
            "base": base,
            "endpoints": endpoints,
            "error_codes": ERROR_CODES,
            "plan_rows": plan_limit_list(),
            "groups": [(g, GROUP_LABELS[g]) for g in ALL_GROUPS],
            "rate_limits": [
                (GROUP_LABELS[g], g, *DEFAULT_RATE_LIMITS[g]) for g in ALL_GROUPS
            ],
        },
    )


# --------------------------------------------------------------------------- accounts


@throttle_signup
@require_http_methods(["GET", "POST"])
def signup(request):
    """Self-service sign-up, as VISIONERA_SIGNUP says: open, verify (the default) or closed."""
    if request.user.is_authenticated:
        return redirect("dashboard:home")
    mode = signup_mode()
    if mode == SIGNUP_CLOSED:
        # Staff create accounts (admin, `manage.py create_api_key`); nothing is created here.
        status = 403 if request.method == "POST" else 200
        return render(request, "registration/signup.html", {"closed": True}, status=status)
    form = SignUpForm(request.POST or None)
    context = {"form": form, "verify": mode == SIGNUP_VERIFY}
    if request.method == "POST":
        if getattr(request, "limited", False):
            return limited_response(request, "registration/signup.html", context)
        if form.is_valid():
            user = register_user(
                email=form.cleaned_data["email"], password=form.cleaned_data["password1"]
            )
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            if mode == SIGNUP_VERIFY:
                if send_verification_email(user=user, base_url=base_url(request)):
                    messages.success(
                        request,
                        f"Welcome to VisionEra! We sent a link to {user.email}: follow it to "
                        "create API keys.",
                    )
                else:
                    messages.error(request, "We could not send the confirmation link: send "
                                            "it again from the API keys page.")
            else:
                messages.success(request, "Welcome to VisionEra! Create an API key to start.")
            return redirect("dashboard:home")
    return render(request, "registration/signup.html", context)


@require_http_methods(["GET"])
def verify_email_view(request, uidb64, token):
    user = verify_email(uidb64=uidb64, token=token)
    if user is None:
        return render(request, "auth/verify_email_invalid.html", status=400)
    messages.success(request, f"{user.email} is confirmed: you can create API keys now.")
    return redirect("dashboard:keys")


@login_required
@require_POST
@ratelimit_failing_open(group="accounts.verification", key="user",
                        rate=VERIFICATION_RESEND_RATE, method="POST", block=False)
def resend_verification(request):
    if request.user.email_verified:
        return redirect("dashboard:keys")
    if getattr(request, "limited", False):
        messages.error(request, "Too many links sent; try again in an hour.")
        return redirect("dashboard:keys")
    if send_verification_email(user=request.user, base_url=base_url(request)):
        messages.success(request, f"We sent a new link to {request.user.email}.")
    else:
        messages.error(request, "We could not send the link; try again later.")
    return redirect("dashboard:keys")


@method_decorator(throttle_login, "dispatch")
class LoginView(auth_views.LoginView):
    """Log-in, throttled per IP and per email (accounts.throttles); the admin's log-in
    shares these counters."""

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if getattr(request, "limited", False):
            return limited_response(
                request, self.template_name, self.get_context_data(form=self.get_form())
            )
        return super().post(request, *args, **kwargs)


@method_decorator(throttle_password_reset, "dispatch")
class PasswordResetView(auth_views.PasswordResetView):
    """Password reset, throttled per IP and per address: a form cannot become a mail cannon."""

    template_name = "auth/password_reset.html"
    email_template_name = "auth/password_reset_email.txt"
    subject_template_name = "auth/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def post(self, request, *args, **kwargs):
        if getattr(request, "limited", False):
            return limited_response(
                request, self.template_name, self.get_context_data(form=self.get_form())
            )
        return super().post(request, *args, **kwargs)
