"""Sign-up, log-in, log-out, password change and reset."""

import pytest
from django.core import mail

from accounts.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "a-Long-unusual-passw0rd"


def test_signup_creates_a_free_user_and_signs_in(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "New.Person@Example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    user = User.objects.get(email="new.person@example.com")
    assert user.plan.name == "free"
    assert user.check_password(PASSWORD)
    assert client.get("/dashboard/").status_code == 200


def test_signup_refuses_a_taken_email_and_mismatched_passwords(client, make_client):
    taken = make_client("pro").user.email
    response = client.post(
        "/accounts/signup/", {"email": taken, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    response = client.post(
        "/accounts/signup/",
        {"email": "x@example.com", "password1": PASSWORD, "password2": PASSWORD + "!"},
    )
    assert response.status_code == 200
    assert not User.objects.filter(email="x@example.com").exists()


def test_signup_is_rate_limited_per_ip(client):
    from accounts.throttles import SIGNUP_RATE

    limit = int(SIGNUP_RATE.split("/")[0])
    for n in range(limit):
        client.post("/accounts/signup/", {"email": f"bad{n}", "password1": "x", "password2": "y"})
    response = client.post(
        "/accounts/signup/",
        {"email": "late@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 429
    assert not User.objects.filter(email="late@example.com").exists()


def test_login_and_logout(client):
    User.objects.create_user(email="me@example.com", password=PASSWORD)
    response = client.post(
        "/accounts/login/", {"username": "me@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 200
    assert client.get("/accounts/logout/").status_code == 405  # POST only
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/dashboard/").status_code == 302


def test_login_is_rate_limited_per_ip(client):
    from accounts.throttles import LOGIN_RATE

    User.objects.create_user(email="me@example.com", password=PASSWORD)
    limit = int(LOGIN_RATE.split("/")[0])
    for _ in range(limit):
        client.post("/accounts/login/", {"username": "me@example.com", "password": "wrong"})
    response = client.post(
        "/accounts/login/", {"username": "me@example.com", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert client.get("/dashboard/").status_code == 302


def test_password_change(client):
    user = User.objects.create_user(email="me@example.com", password=PASSWORD)
    client.force_login(user)
    response = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": PASSWORD + "2", "new_password2":
         PASSWORD + "2"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(PASSWORD + "2")


def test_password_reset_sends_a_working_link(client):
    user = User.objects.create_user(email="me@example.com", password=PASSWORD)
    response = client.post("/accounts/password/reset/", {"email": "me@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = next(line for line in body.splitlines() if "/accounts/password/reset/" in line)
    path = link.split("testserver", 1)[1].strip()
    response = client.get(path, follow=True)
    assert response.status_code == 200
    form_url = response.redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": PASSWORD + "3",
                                      "new_password2": PASSWORD + "3"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(PASSWORD + "3")


def test_signup_and_login_fail_open_with_the_cache_down(settings, caplog):
    """The rate limit's cache (Redis) down must not take the login page with it."""
    import socket

    from django.test import Client

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{port}/0"}}
    User.objects.create_user(email="me@example.com", password=PASSWORD)
    client = Client(raise_request_exception=False)
    response = client.post("/accounts/login/", {"username": "me@example.com",
                                                "password": PASSWORD})
    assert response.status_code == 302
    response = client.post("/accounts/logout/")
    response = client.post(
        "/accounts/signup/",
        {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert User.objects.filter(email="new@example.com").exists()
    assert "Rate-limit cache unavailable" in caplog.text


def test_login_is_rate_limited_per_email_from_many_addresses(client):
    from accounts.throttles import LOGIN_RATE_PER_EMAIL

    User.objects.create_user(email="me@example.com", password=PASSWORD)
    limit = int(LOGIN_RATE_PER_EMAIL.split("/")[0])
    for n in range(limit):
        response = client.post("/accounts/login/", {"username": "ME@example.com",
                                                    "password": f"guess-{n}"},
                               REMOTE_ADDR=f"198.51.100.{n + 1}")
        assert response.status_code == 200, n
    response = client.post("/accounts/login/", {"username": "me@example.com",
                                                "password": PASSWORD},
                           REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 429
    assert client.get("/dashboard/").status_code == 302



def full_width(email: str, n: int) -> str:
    """A spelling of `email` that NFKC folds back to it: the letters whose bit in n is set
    are written full-width (U+FF21-U+FF5A), 2^letters spellings in all."""
    return "".join(chr(ord(ch) + 0xFEE0) if ch.isalpha() and (n >> i) & 1 else ch
                   for i, ch in enumerate(email))


def test_full_width_spellings_of_one_address_share_its_login_counter(client):
    from accounts.throttles import LOGIN_RATE_PER_EMAIL

    User.objects.create_user(email="me@example.com", password=PASSWORD)
    limit = int(LOGIN_RATE_PER_EMAIL.split("/")[0])
    for n in range(1, limit + 1):
        response = client.post("/accounts/login/", {"username": full_width("me@example.com", n),
                                                    "password": f"guess-{n}"},
                               REMOTE_ADDR=f"198.51.100.{n}")
        assert response.status_code == 200, n
    response = client.post("/accounts/login/", {"username": full_width("me@example.com", 3),
                                                "password": PASSWORD},
                           REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 429
    assert client.get("/dashboard/").status_code == 302

def test_password_reset_is_throttled_per_ip(client):
    from accounts.throttles import PASSWORD_RESET_RATE

    limit = int(PASSWORD_RESET_RATE.split("/")[0])
    for n in range(limit):
        User.objects.create_user(email=f"r{n}@example.com", password=PASSWORD)
        assert client.post("/accounts/password/reset/",
                           {"email": f"r{n}@example.com"}).status_code == 302
    assert len(mail.outbox) == limit
    User.objects.create_user(email="late@example.com", password=PASSWORD)
    response = client.post("/accounts/password/reset/", {"email": "late@example.com"})
    assert response.status_code == 429
    assert "Too many reset requests" in response.content.decode()
    assert len(mail.outbox) == limit  # no mail for the refused request


def test_password_reset_mails_per_address_are_limited(client):
    from accounts.throttles import PASSWORD_RESET_RATE_PER_EMAIL

    User.objects.create_user(email="victim@example.com", password=PASSWORD)
    limit = int(PASSWORD_RESET_RATE_PER_EMAIL.split("/")[0])
    for n in range(limit + 3):  # a different client address each time
        response = client.post("/accounts/password/reset/", {"email": "Victim@Example.com"},
                               REMOTE_ADDR=f"198.51.100.{n + 1}")
        assert response.status_code == (302 if n < limit else 429), n
    assert len(mail.outbox) == limit
    assert {tuple(message.to) for message in mail.outbox} == {("victim@example.com",)}
