"""Webhook endpoint services: creation, secret rotation, enabling/disabling, test events and endpoint health."""

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from erp import events
from erp.exceptions import ConflictError, DomainError
from erp.models import OutboxEvent
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import ssrf
from integrations.webhooks.delivery import DeliveryResult
from integrations.webhooks.signing import generate_secret

logger = logging.getLogger(__name__)


def validate_event_types(event_types: list[str]) -> None:
    unknown = sorted(set(event_types) - set(events.CATALOG))
    if not event_types or unknown:
        raise DomainError(
            _("Eventos desconocidos: %(names)s.") % {"names": ", ".join(unknown)}
            if unknown
            else _("Elija al menos un tipo de evento."),
            code="INVALID_EVENT_TYPES",
        )


@transaction.atomic
def create_endpoint(*, name: str, url: str, event_types: list[str], description: str = "") -> WebhookEndpoint:
    """Create an endpoint with a fresh whsec_ secret; refuses unknown events and unsafe URLs (SSRF)."""
    validate_event_types(event_types)
    ssrf.check_url(url)
    return WebhookEndpoint.objects.create(name=name, url=url, event_types=list(event_types), description=description)


@transaction.atomic
def rotate_secret(endpoint: WebhookEndpoint, *, window_hours: float | None = None) -> WebhookEndpoint:
    """New secret now; the old one keeps signing (a second signature) until the window closes."""
    hours = window_hours if window_hours is not None else getattr(settings, "WEBHOOK_SECRET_ROTATION_HOURS", 24)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(hours=hours)
    endpoint.secret = generate_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return endpoint


def disable_endpoint(endpoint_id: int, *, reason: str, now=None) -> None:
    """Switch the endpoint off and discard its pending deliveries (staff can retry them after re-enabling)."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = WebhookEndpoint.objects.filter(pk=endpoint_id, active=True).update(
            active=False, disabled_reason=reason, disabled_at=now, updated_at=now
        )
        if changed:
            WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=DeliveryStatus.PENDING).update(
                status=DeliveryStatus.DISCARDED, next_attempt_at=None, last_error=reason
            )
            logger.warning("Webhook endpoint %s disabled: %s", endpoint_id, reason)


@transaction.atomic
def enable_endpoint(endpoint: WebhookEndpoint) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        active=True, disabled_reason="", disabled_at=None, failing_since=None, updated_at=timezone.now()
    )


def send_test_event(endpoint: WebhookEndpoint) -> OutboxEvent:
    """Emit `webhook_test` addressed to this one endpoint (through the outbox, like any event)."""
    if not endpoint.active:
        raise ConflictError(_("El endpoint está desactivado."))
    with transaction.atomic():
        return events.emit(
            "webhook_test",
            {
                "mensaje": _("Evento de prueba de Emerald para %(name)s.") % {"name": endpoint.name},
                "endpoint_id": endpoint.pk,
            },
        )


def track_health(endpoint: WebhookEndpoint, results: Iterable[DeliveryResult], *, now) -> None:
    """Endpoint health after a batch of its attempts: any success clears the failure clock; 410 disables at once;
    failing every attempt for WEBHOOK_DISABLE_AFTER_HOURS disables it with the reason shown to staff.

    `endpoint` was read at claim time and only spares the 24 h check while it cannot be due; every write is
    conditional on the current row, so concurrent batches of the same endpoint agree.
    """
    results = list(results)
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    if any(r.gone for r in results):
        disable_endpoint(endpoint.pk, reason=_("El receptor respondió 410 Gone: desactivado de inmediato."), now=now)
        return
    if any(r.ok for r in results):
        # Healthy at claim time is the common case: no query. A failure clock another batch started since
        # then is stopped by the next success seen with a fresh read.
        if endpoint.failing_since is not None:
            endpoints.filter(failing_since__isnull=False).update(failing_since=None)
        return
    if endpoint.failing_since is None:
        endpoints.filter(failing_since__isnull=True).update(failing_since=now)
    hours = getattr(settings, "WEBHOOK_DISABLE_AFTER_HOURS", 24)
    cutoff = now - timedelta(hours=hours)
    if endpoint.failing_since is None or endpoint.failing_since > cutoff:
        return  # not failing for long enough at claim time; a success since then only makes it shorter
    if endpoints.filter(active=True, failing_since__lte=cutoff).exists():  # still failing since then?
        disable_endpoint(
            endpoint.pk,
            reason=_("Todas las entregas fallaron durante %(hours)s h (último error: %(error)s).")
            % {"hours": hours, "error": results[-1].failure},
            now=now,
        )
