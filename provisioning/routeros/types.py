"""Plain data in and out of the RouterOS client: its config and frozen rows parsed at the edge."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

_RATE_RE = re.compile(r"^(\d+(?:\.\d+)?)([kKmMgG]?)$")
_MULTIPLIERS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3}
_DURATION_RE = re.compile(r"(\d+)([wdhms])")


@dataclass(frozen=True)
class RouterConfig:
    """How to reach one router. Built from the Router model by the service layer; the client never sees models."""

    host: str
    username: str
    password: str = field(repr=False)  # repr=False: a logged config never shows it
    port: int = 8728
    timeout_s: float = 10
    use_ssl: bool = False
    tls_mode: str = "verify"  # verify | fingerprint | anonymous
    ca_certificate: str = ""  # PEM; empty = system trust store
    tls_fingerprint: str = ""  # SHA-256 of the DER certificate, hex with or without ':'
    # RouterOS stores bytes; the client codepage decides. UTF-8 by default (WinBox 3.x and the REST API
    # speak it); latin-1 for routers whose comments were typed from a Windows-1252 console.
    encoding: str = "utf-8"
    name: str = ""  # for messages only


def text(value: Any) -> str:
    """librouteros turns ``1001`` into int and ``yes`` into True: bring every value back to RouterOS text."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def flag(value: Any) -> bool:
    return value is True or text(value).lower() in ("true", "yes")


def parse_rate(value: str) -> int:
    """``512k`` → 512000, ``10M`` → 10000000; RouterOS multiplies by powers of 1000."""
    match = _RATE_RE.match(text(value).strip())
    if not match:
        raise ValueError(f"invalid rate {value!r}")
    try:
        number = Decimal(match.group(1))
    except InvalidOperation as exc:
        raise ValueError(f"invalid rate {value!r}") from exc
    return int(number * _MULTIPLIERS[match.group(2).lower()])


def normalize_rate_pair(value: Any) -> str:
    """``10M/50M`` and ``10000000/50000000`` both → ``10000000/50000000`` (what the router prints back)."""
    parts = text(value).split("/")
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2:
        raise ValueError(f"invalid rate pair {value!r}")
    return "/".join(str(parse_rate(part)) for part in parts)


def same_rate(a: Any, b: Any) -> bool:
    try:
        return normalize_rate_pair(a) == normalize_rate_pair(b)
    except ValueError:
        return text(a) == text(b)


def format_uptime(value: Any) -> str:
    """RouterOS ``2d3h14m5s`` → ``2d 3h 14m`` (seconds dropped once there are minutes); ``44s`` stays ``44s``."""
    raw = text(value)
    parts = _DURATION_RE.findall(raw)
    if not parts:
        return raw
    words = [f"{number}{unit}" for number, unit in parts if unit != "s" or len(parts) == 1]
    return " ".join(words)


@dataclass(frozen=True)
class DhcpLease:
    id: str
    address: str
    mac_address: str
    host_name: str
    status: str
    dynamic: bool
    disabled: bool
    server: str
    comment: str

    @classmethod
    def from_row(cls, row: dict) -> DhcpLease:
        return cls(
            id=text(row.get(".id")),
            address=text(row.get("address")),
            mac_address=text(row.get("mac-address")).upper(),
            host_name=text(row.get("host-name")),
            status=text(row.get("status")),
            dynamic=flag(row.get("dynamic")),
            disabled=flag(row.get("disabled")),
            server=text(row.get("server")) or "all",
            comment=text(row.get("comment")),
        )


@dataclass(frozen=True)
class SimpleQueue:
    id: str
    name: str
    target: str
    max_limit: str  # normalised bits/s, upload/download from the target's side
    disabled: bool
    comment: str
    rate: str
    bytes: str

    @classmethod
    def from_row(cls, row: dict) -> SimpleQueue:
        raw_limit = text(row.get("max-limit"))
        try:
            max_limit = normalize_rate_pair(raw_limit) if raw_limit else ""
        except ValueError:
            max_limit = raw_limit
        return cls(
            id=text(row.get(".id")),
            name=text(row.get("name")),
            target=text(row.get("target")),
            max_limit=max_limit,
            disabled=flag(row.get("disabled")),
            comment=text(row.get("comment")),
            rate=text(row.get("rate")),
            bytes=text(row.get("bytes")),
        )


@dataclass(frozen=True)
class SystemResource:
    identity: str
    cpu_load: int
    free_memory: int
    total_memory: int
    uptime: str
    version: str
    board_name: str

    @classmethod
    def from_row(cls, row: dict, identity: str) -> SystemResource:
        return cls(
            identity=identity,
            cpu_load=_int(row.get("cpu-load")),
            free_memory=_int(row.get("free-memory")),
            total_memory=_int(row.get("total-memory")),
            uptime=text(row.get("uptime")),
            version=text(row.get("version")),
            board_name=text(row.get("board-name")),
        )


@dataclass(frozen=True)
class PppSession:
    id: str
    name: str
    service: str
    caller_id: str
    address: str
    uptime: str  # RouterOS form, e.g. 2d3h14m5s

    @classmethod
    def from_row(cls, row: dict) -> PppSession:
        return cls(
            id=text(row.get(".id")),
            name=text(row.get("name")),
            service=text(row.get("service")),
            caller_id=text(row.get("caller-id")),
            address=text(row.get("address")),
            uptime=text(row.get("uptime")),
        )


@dataclass(frozen=True)
class PppSecret:
    """A PPP user as listed to staff: the router's stored password is deliberately not carried."""

    id: str
    name: str
    service: str
    profile: str
    remote_address: str
    disabled: bool
    comment: str
    last_caller_id: str
    last_logged_out: str

    @classmethod
    def from_row(cls, row: dict) -> PppSecret:
        return cls(
            id=text(row.get(".id")),
            name=text(row.get("name")),
            service=text(row.get("service")),
            profile=text(row.get("profile")),
            remote_address=text(row.get("remote-address")),
            disabled=flag(row.get("disabled")),
            comment=text(row.get("comment")),
            last_caller_id=text(row.get("last-caller-id")),
            last_logged_out=text(row.get("last-logged-out")),
        )


def _int(value: Any) -> int:
    try:
        return int(text(value) or 0)
    except ValueError:
        return 0
