"""Registry of admin dashboard panels: apps add theirs in AppConfig.ready() without erp importing them."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    """A dashboard panel: a template and a function that builds its context for the request."""

    key: str
    title: str
    template: str
    context: Callable
    order: int = 100


_panels: dict[str, Panel] = {}


def register(panel: Panel) -> None:
    _panels[panel.key] = panel


def render_context(request) -> list[dict]:
    out = []
    for panel in sorted(_panels.values(), key=lambda p: (p.order, p.key)):
        out.append({"key": panel.key, "title": panel.title, "template": panel.template, **panel.context(request)})
    return out
