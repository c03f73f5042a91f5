"""The page shell every page shares: the site's icon (#16, point 17)."""

from tests.conftest import log_in
from tests.factories import make_user


def test_the_icon_browsers_ask_for_is_served(client):
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200
        assert response.mimetype == "image/svg+xml"
        assert response.get_data(as_text=True).startswith("<svg")


def test_every_page_links_the_icon(client, session):
    log_in(client, make_user(session))

    page = client.get("/").get_data(as_text=True)

    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    with client.get("/static/favicon.svg") as icon:
        assert icon.status_code == 200
