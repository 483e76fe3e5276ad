"""IdLinks: one reversed pattern, many ids, the same URLs as reverse()."""

from __future__ import annotations

import pytest
from django.urls import clear_script_prefix, reverse, set_script_prefix

from core.links import IdLinks


@pytest.mark.parametrize("name", ["leads:detail", "funnel:accept", "funnel:reject"])
def test_each_id_gets_the_url_reverse_gives(name):
    links = IdLinks(name)
    for pk in (1, 42, 987654321, 2**63 - 1):
        assert links(pk) == reverse(name, args=[pk])


def test_the_links_read_as_the_pages_paths():
    assert IdLinks("leads:detail")(7) == "/leads/7/"
    assert IdLinks("funnel:accept")(7) == "/queue/7/accept/"


@pytest.mark.parametrize("prefix", ["/crm/", "/987654321/", "/a987654321b/"])
def test_a_script_prefix_is_kept_even_when_it_holds_the_placeholder(prefix):
    set_script_prefix(prefix)
    try:
        links = IdLinks("leads:detail")
        link, expected = links(5), reverse("leads:detail", args=[5])
    finally:
        clear_script_prefix()
    assert link == expected == f"{prefix}leads/5/"
    assert (links.halves is None) == (str(IdLinks.PLACEHOLDER) in prefix)
