"""Headers a shared care tablet needs, and a plain answer to a request too large to read."""

from django.urls import reverse

from caregov.access import Role


def test_signed_in_pages_are_never_kept_in_the_browsers_cache(client, world):
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    response = client.get(reverse("home"))
    assert response["Cache-Control"] == "no-store"


def test_csv_exports_are_never_kept_in_the_browsers_cache(client, world):
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    response = client.get(reverse("action_list"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Cache-Control"] == "no-store"


def test_every_page_forbids_scripts_from_anywhere_but_caregov(client, world):
    for response in (
        client.get(reverse("login")),
        client.get(reverse("password_reset")),
    ):
        policy = dict(
            part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
        )
        assert policy["script-src"] == "'self'"
        assert policy["default-src"] == "'self'"
        assert policy["object-src"] == "'none'"
        assert policy["frame-ancestors"] == "'none'"
        assert "camera=()" in response["Permissions-Policy"]
        assert "geolocation=()" in response["Permissions-Policy"]


def test_a_three_megabyte_answer_gets_a_page_saying_it_was_too_large(client, world):
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    action = world.record("action", world.service_a)
    response = client.post(
        reverse("action_complete", args=[action.pk]), {"evidence": "x" * (3 * 1024 * 1024)}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "What you sent was too large" in page
    assert "at most 2.5 MB" in page
    assert "what you typed is still in the form" in page
