"""Payload builders: the JSON body `{"type", "timestamp", "data"}` of every outbound webhook."""

import json
from collections.abc import Callable
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder

# One builder per event type when an event needs shaping; the default sends the event's data as is.
PayloadBuilder = Callable[[dict], dict]
BUILDERS: dict[str, PayloadBuilder] = {}


def build_payload(event_type: str, data: dict, occurred_at: datetime) -> dict:
    builder = BUILDERS.get(event_type, dict)
    return {"type": event_type, "timestamp": occurred_at.isoformat(), "data": builder(data)}


def serialize(payload: dict) -> bytes:
    """The exact bytes that are signed and sent. Sorted keys keep them identical on every attempt,
    whatever order the database (jsonb) returns the keys in."""
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True).encode()
