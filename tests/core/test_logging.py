"""What the logs say: a 403 is one line, without a traceback."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_each_403_is_logged_once_as_one_line_without_a_traceback(nobody, caplog):
    page = Client()
    page.force_login(nobody)
    with caplog.at_level("INFO"):
        assert page.get("/pipeline/").status_code == 403
        assert client_for(nobody).get("/api/v1/stages/").status_code == 403
    forbidden = [r for r in caplog.records if r.name == "django.request"]
    assert [r.getMessage() for r in forbidden] == [
        "Forbidden (Permission denied): /pipeline/",
        "Forbidden: /api/v1/stages/",
    ]
    assert all(r.exc_info is None and r.exc_text is None for r in forbidden)
    assert "Traceback" not in caplog.text
