"""In-process HTTP receiver of Emerald's outbound webhooks, for delivery/retry tests.

It verifies every POST independently of Emerald's code, with the ``standardwebhooks`` library
(``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature``, several space-separated
signatures allowed during secret rotation, ±5 min timestamp tolerance), and optionally checks
the GitHub-style ``X-Emerald-Signature: sha256=<hex>`` header too. It then answers like a real
receiver would (401 when the signature does not verify), or like a broken one (fault modes,
seeded random failures), and records everything for assertions.

Usage in a test::

    with WebhookReceiver(secret=SECRET, failure_rate=0.3, seed=7) as receiver:
        endpoint.url = receiver.url                 # http://127.0.0.1:<port>/hook
        ...deliver...
        assert receiver.wait_for(10, timeout=5)
        assert receiver.unique_ids() == expected_ids
        assert max(receiver.count_by_id().values()) > 1   # some were retried

Standalone::

    python -m tests.emulators.webhook_receiver --port 9200 --secret whsec_... --failure-rate 0.3
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from standardwebhooks.webhooks import Webhook

from tests.emulators.erp import LoopbackHTTPService, Response

# 32 random-looking bytes, shown the Standard Webhooks way. Only for tests.
DEFAULT_SECRET = "whsec_" + base64.b64encode(b"emerald-test-webhook-secret-0001").decode()
MODES = ("ok", "gone", "error", "slow", "unverified")
HEX_HEADER = "x-emerald-signature"


def whsec_key_bytes(secret: str) -> bytes:
    """The HMAC key behind a ``whsec_<base64>`` secret: the base64-decoded part after the prefix
    (exactly what ``standardwebhooks.Webhook`` uses)."""
    if secret.startswith("whsec_"):
        secret = secret[len("whsec_") :]
    return base64.b64decode(secret + "==")


def emerald_signature(key: bytes, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the raw body>``, the value of ``X-Emerald-Signature``."""
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


@dataclass
class ReceivedWebhook:
    """One POST as received. ``headers`` has lower-case keys; ``json`` is None if unparsable."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    received_at: float  # wall clock, time.time()
    received_monotonic: float  # time.monotonic(), for measuring retry spacing
    verified: bool  # standardwebhooks verification passed
    verify_error: str | None
    hex_verified: bool | None  # None when no hex key was configured
    status: int  # what the receiver answered

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id")

    @property
    def webhook_timestamp(self) -> int | None:
        try:
            return int(self.headers["webhook-timestamp"])
        except (KeyError, ValueError):
            return None

    @property
    def signatures(self) -> list[str]:
        return self.headers.get("webhook-signature", "").split()

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    @property
    def event_type(self) -> str | None:
        return self.json.get("type") if isinstance(self.json, dict) else None


class WebhookReceiver(LoopbackHTTPService):
    """Records and verifies webhook deliveries; answers 2xx, 401, or injected failures.

    Args:
        secret: the endpoint's Standard Webhooks secret (``whsec_<base64>``), verified with
            ``standardwebhooks.webhooks.Webhook(secret).verify(body, headers)``.
        failure_rate: fraction (0..1) of otherwise acceptable deliveries answered with
            ``status_on_failure``. One draw per POST, seeded by (seed, webhook-id, how many
            times that id came before): a delivery's attempts fail independently of each other
            and of the order concurrent requests arrive in, and a fixed seed gives the same
            answers every run.
        seed: seed for the failure draws.
        status_on_failure: status used for those random failures (e.g. 500, 503, 429).
        hex_secret: enables the ``X-Emerald-Signature: sha256=<hex>`` check. The HMAC key is:
            ``True`` -> the key bytes of ``secret`` (base64-decoded part after ``whsec_``);
            a ``"whsec_..."`` string -> that secret's decoded key bytes, same rule;
            any other string -> its UTF-8 bytes (GitHub style); ``bytes`` -> used as is.
        hex_key_bytes: the raw HMAC key for the hex scheme; overrides ``hex_secret``. Pass this
            when the test wants to state the key explicitly, e.g. ``whsec_key_bytes(SECRET)``.
            The resolved key is ``.hex_key``. A space-separated list of ``sha256=`` values is
            accepted (rotation). The result is recorded as ``ReceivedWebhook.hex_verified``.
        require_hex: if True, a failing hex check is also answered 401.
        reject_unverified: default True: an unverified Standard Webhooks signature gets 401,
            like a real receiver. False accepts and records it (``verified=False``) anyway.
        path: the URL path that is served (``.url`` ends with it); other paths answer 404.
        port: 0 picks a free port. ``slow_seconds``: the delay of ``mode="slow"``.
        retry_after: if set, sent as ``Retry-After`` on every non-2xx, non-401 answer.
        on_receive: optional callback called with each ``ReceivedWebhook`` (in the server thread).

    Modes (``mode``, settable at runtime): ``ok`` (verify, 401 if unverified, random failures,
    else 200); ``unverified`` (same as ok but always answers 401 to unverified requests, even if
    ``reject_unverified`` is False); ``gone`` (410 to everything); ``error`` (500 to everything);
    ``slow`` (records the delivery as ``ok`` would, then waits ``slow_seconds`` before answering:
    the receiver processed it but the sender times out and will retry, so duplicates show up).
    ``go_down()`` / ``come_back()`` close and reopen the listening socket on the same port.
    """

    def __init__(
        self,
        secret: str = DEFAULT_SECRET,
        failure_rate: float = 0.0,
        seed: int | None = None,
        status_on_failure: int = 500,
        *,
        hex_secret: str | bytes | bool | None = None,
        hex_key_bytes: bytes | None = None,
        require_hex: bool = False,
        reject_unverified: bool = True,
        path: str = "/hook",
        port: int = 0,
        slow_seconds: float = 3.0,
        status_ok: int = 200,
        retry_after: int | None = None,
        on_receive: Callable[[ReceivedWebhook], None] | None = None,
    ) -> None:
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("failure_rate must be within 0..1")
        super().__init__(port)
        self.secret = secret
        self._webhook = Webhook(secret)
        self.failure_rate = failure_rate
        self.seed = seed
        self.status_on_failure = status_on_failure
        self.hex_key = self._resolve_hex_key(secret, hex_secret, hex_key_bytes)
        self.require_hex = require_hex
        self.reject_unverified = reject_unverified
        self.path = path
        self.slow_seconds = slow_seconds
        self.status_ok = status_ok
        self.retry_after = retry_after
        self.on_receive = on_receive
        self._mode = "ok"
        self._cond = threading.Condition()
        self._seen: Counter[str] = Counter()
        self._all: list[ReceivedWebhook] = []
        self._accepted: list[ReceivedWebhook] = []

    @staticmethod
    def _resolve_hex_key(secret: str, hex_secret: Any, hex_key_bytes: bytes | None) -> bytes | None:
        if hex_key_bytes is not None:
            return bytes(hex_key_bytes)
        if hex_secret is None or hex_secret is False:
            return None
        if hex_secret is True:
            return whsec_key_bytes(secret)
        if isinstance(hex_secret, bytes):
            return hex_secret
        if hex_secret.startswith("whsec_"):
            return whsec_key_bytes(hex_secret)
        return hex_secret.encode("utf-8")

    # configuration ---------------------------------------------------------------------
    @property
    def url(self) -> str:  # type: ignore[override]
        return self.base_url + self.path

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"unknown receiver mode {value!r}; expected one of {MODES}")
        self._mode = value

    def reset(self) -> None:
        """Forget every recorded delivery, re-seed the failure draws and go back to ``ok``."""
        with self._cond:
            self._all.clear()
            self._accepted.clear()
            self._seen.clear()
            self._mode = "ok"

    # views -----------------------------------------------------------------------------
    @property
    def all(self) -> list[ReceivedWebhook]:
        """Every POST received, whatever was answered, in arrival order."""
        with self._cond:
            return list(self._all)

    @property
    def accepted(self) -> list[ReceivedWebhook]:
        """The deliveries answered with 2xx, in arrival order (retries included)."""
        with self._cond:
            return list(self._accepted)

    @property
    def rejected(self) -> list[ReceivedWebhook]:
        return [w for w in self.all if not w.accepted]

    def unique_ids(self) -> set[str]:
        """Receiver-side dedupe: the distinct ``webhook-id`` values accepted with 2xx."""
        return {w.webhook_id for w in self.accepted if w.webhook_id is not None}

    def count_by_id(self, accepted_only: bool = False) -> dict[str, int]:
        """How many times each ``webhook-id`` arrived (all attempts, or only the 2xx ones)."""
        source = self.accepted if accepted_only else self.all
        return dict(Counter(w.webhook_id for w in source if w.webhook_id is not None))

    def attempts_for(self, webhook_id: str) -> list[ReceivedWebhook]:
        return [w for w in self.all if w.webhook_id == webhook_id]

    def wait_for(self, n: int, timeout: float = 5.0) -> bool:
        """Block until at least ``n`` deliveries were accepted (2xx); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._accepted) >= n, timeout=timeout)

    def wait_for_any(self, n: int, timeout: float = 5.0) -> bool:
        """Block until at least ``n`` POSTs arrived, whatever was answered; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._all) >= n, timeout=timeout)

    # verification ----------------------------------------------------------------------
    def _verify(self, body: bytes, headers: dict[str, str]) -> tuple[bool, str | None]:
        try:
            self._webhook.verify(body, headers, json_parse=False)
        except Exception as exc:  # noqa: BLE001 - library raises ValueError/binascii.Error on garbage too
            return False, f"{type(exc).__name__}: {exc}"
        return True, None

    def _verify_hex(self, body: bytes, headers: dict[str, str]) -> bool | None:
        if self.hex_key is None:
            return None
        expected = emerald_signature(self.hex_key, body)
        offered = headers.get(HEX_HEADER, "").split()
        return any(hmac.compare_digest(expected.encode(), sig.strip().lower().encode()) for sig in offered)

    # HTTP ------------------------------------------------------------------------------
    def _respond(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        if method != "POST":
            return Response.json(405, {"detail": "only POST"}, {"Allow": "POST"})
        received_at, received_monotonic = time.time(), time.monotonic()
        path = raw_path.split("?", 1)[0]
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        verified, verify_error = self._verify(body, headers)
        hex_verified = self._verify_hex(body, headers)

        webhook_id = headers.get("webhook-id", "")
        with self._cond:
            earlier = self._seen[webhook_id]
            self._seen[webhook_id] += 1
            mode = self._mode
        # A draw of a stream shared by all POSTs would tie a retry's fate to whatever else was in flight.
        draw = random.Random(f"{self.seed}:{webhook_id}:{earlier}").random()
        if path != self.path:
            status, reason = 404, "unknown path"
        elif mode == "gone":
            status, reason = 410, "endpoint gone"
        elif mode == "error":
            status, reason = 500, "receiver error (emulated)"
        elif not verified and (self.reject_unverified or mode == "unverified"):
            status, reason = 401, f"signature verification failed: {verify_error}"
        elif self.require_hex and not hex_verified:
            status, reason = 401, "X-Emerald-Signature verification failed"
        elif draw < self.failure_rate:
            status, reason = self.status_on_failure, "random failure (emulated)"
        else:
            status, reason = self.status_ok, None

        delivery = ReceivedWebhook(
            method,
            path,
            headers,
            body,
            parsed,
            received_at,
            received_monotonic,
            verified,
            verify_error,
            hex_verified,
            status,
        )
        with self._cond:
            self._all.append(delivery)
            if delivery.accepted:
                self._accepted.append(delivery)
            self._cond.notify_all()
        if self.on_receive is not None:
            try:
                self.on_receive(delivery)
            except Exception as exc:  # noqa: BLE001 - a test callback must not kill the server
                self.server_errors.append(exc)
        if mode == "slow":
            self._sleep(self.slow_seconds)

        if reason is None:
            return Response.json(status, {"ok": True, "webhook_id": delivery.webhook_id})
        extra = {}
        if self.retry_after is not None and status != 401:
            extra["Retry-After"] = str(self.retry_after)
        return Response.json(status, {"ok": False, "error": reason}, extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Emerald test webhook receiver (binds 127.0.0.1 only).")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--secret", default=DEFAULT_SECRET, help="whsec_<base64> endpoint secret")
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--status-on-failure", type=int, default=500)
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--hex", action="store_true", help="also check X-Emerald-Signature with the secret's key")
    parser.add_argument("--path", default="/hook")
    parser.add_argument("--quiet", action="store_true", help="do not print one line per delivery")
    args = parser.parse_args(argv)

    def report(w: ReceivedWebhook) -> None:
        print(
            f"{w.status} id={w.webhook_id} type={w.event_type} verified={w.verified}"
            f"{'' if w.hex_verified is None else f' hex={w.hex_verified}'}"
            f"{'' if w.verified else f' ({w.verify_error})'}",
            flush=True,
        )

    receiver = WebhookReceiver(
        args.secret,
        args.failure_rate,
        args.seed,
        args.status_on_failure,
        hex_secret=True if args.hex else None,
        path=args.path,
        port=args.port,
        on_receive=None if args.quiet else report,
    )
    receiver.mode = args.mode
    receiver.start()
    print(
        f"Webhook receiver listening on {receiver.url} (failure rate {args.failure_rate}, "
        f"seed {args.seed}, mode {args.mode})",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
