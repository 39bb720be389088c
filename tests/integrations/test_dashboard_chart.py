"""The dashboard chart is drawable SVG even in Spanish: coordinates keep their decimal point."""

import re

import pytest
from django.urls import reverse

from integrations import logs

pytestmark = pytest.mark.django_db


def test_chart_coordinates_are_not_localised_with_decimal_commas(client, admin_user):
    for ok in (True, False, True):
        logs.write(system="erp", kind="sync", ok=ok)
    client.force_login(admin_user)
    page = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    start = page.index('id="integrations-chart"')
    svg = page[start : page.index("</svg>", start)]
    numbers = re.findall(r'<(?:rect|text)[^>]*?\b(?:x|y|width|height)="([^"]*)"', svg)
    assert numbers, "the chart drew no bars"
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", n) for n in numbers), numbers
