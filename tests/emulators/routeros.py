"""MikroTik RouterOS API emulator: the real binary wire protocol on 127.0.0.1, for tests.

Unmodified ``librouteros`` (4.2.x) connects to it as it would to a router on port 8728/8729.
Ground truth: ``/work/shared/reference/protocols.md`` sections 1, 2 and 7.

What it speaks:

* length-prefixed words (1 to 4 byte prefixes, plus the 5-byte ``0xF0`` form on input), sentences
  ended by an empty word; ``!re`` / ``!done`` / ``!trap`` / ``!fatal`` replies; ``.tag``;
  the query stack (``?name``, ``?-name``, ``?=name=v``, ``?name=v``, ``?<``, ``?>``, ``?#|&!.0-9``)
  and ``=.proplist=`` on ``print``; ``/login`` (plain, and the legacy MD5 challenge), ``/cancel``, ``/quit``.
* menus ``/ip/dhcp-server``, ``/ip/dhcp-server/lease``, ``/queue/simple``, ``/ppp/secret``, ``/ppp/active``,
  ``/system/resource`` and ``/system/identity`` with RouterOS 7.17 value formats (``true``/``false``,
  bits per second, ``/32`` targets, uppercase MACs, ``*HEX`` ids).
* fault injection: dropped connections, traps, slow replies, refused logins.
* TLS: a self-signed certificate (pinnable) or anonymous Diffie-Hellman, like API-SSL.

Usage in a test::

    with RouterOSEmulator(leases=20) as router:
        api = librouteros.connect(router.host, router.username, router.password, port=router.port)
        ...
        router.fail_on("/queue/simple/add", mode="drop")
        assert router.leases()[0]["dynamic"] == "false"

Standalone (loopback only)::

    python -m tests.emulators.routeros --port 8728 --leases 50 [--username admin --password secret]
                                       [--tls cert|anonymous] [--cert-out router.pem]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fnmatch
import functools
import hashlib
import ipaddress
import os
import re
import secrets
import select
import socket
import socketserver
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

LOOPBACK = "127.0.0.1"
WIRE_ENCODING = "utf-8"
MAX_WORD_LENGTH = 64 * 1024 * 1024
LOGIN_FAILED = "invalid user name or password (6)"
ROUTEROS_VERSION = "7.17 (stable)"

# RFC 7919 ffdhe2048 group (PKCS#3). OpenSSL needs explicit DH parameters for the anonymous "ADH" suites.
FFDHE2048_PEM = """\
-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
"""


# --------------------------------------------------------------------------------------
# Wire format
# --------------------------------------------------------------------------------------


class ProtocolViolation(Exception):
    """The peer sent bytes that are not a valid API sentence; the connection is closed."""


# (first byte below, extra bytes to read, mask keeping the length bits of the first byte)
_LENGTH_FORMS = ((0x80, 0, 0x7F), (0xC0, 1, 0x3F), (0xE0, 2, 0x1F), (0xF0, 3, 0x0F))


def encode_length(length: int) -> bytes:
    """Length prefix of a word, big-endian, with the RouterOS marker bits."""
    if length < 0x80:
        return bytes([length])
    if length < 0x4000:
        return (length | 0x8000).to_bytes(2, "big")
    if length < 0x200000:
        return (length | 0xC00000).to_bytes(3, "big")
    if length < 0x10000000:
        return (length | 0xE0000000).to_bytes(4, "big")
    return b"\xf0" + length.to_bytes(4, "big")


def decode_length(prefix: bytes) -> int:
    """Inverse of :func:`encode_length` for a complete prefix."""
    first = prefix[0]
    if first == 0xF0:
        return int.from_bytes(prefix[1:5], "big")
    for upper, extra, mask in _LENGTH_FORMS:
        if first < upper:
            return int.from_bytes(bytes([first & mask]) + prefix[1 : 1 + extra], "big")
    raise ProtocolViolation(f"reserved control byte 0x{first:02X}")


def prefix_size(first_byte: int) -> int:
    """Total size of a length prefix, known from its first byte."""
    if first_byte == 0xF0:
        return 5
    for upper, extra, _mask in _LENGTH_FORMS:
        if first_byte < upper:
            return 1 + extra
    # 0xF8..0xFF are control bytes: the client cannot continue.
    raise ProtocolViolation(f"reserved control byte 0x{first_byte:02X}")


def _wire_bytes(text: str) -> bytes:
    return text.encode(WIRE_ENCODING, "surrogateescape")


def encode_word(word: str) -> bytes:
    data = _wire_bytes(word)
    return encode_length(len(data)) + data


def encode_sentence(words: Iterable[str]) -> bytes:
    """Words followed by the zero-length word that ends a sentence."""
    return b"".join(encode_word(word) for word in words) + b"\x00"


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) < size:
        raise EOFError("connection closed")
    return data


def read_sentence(stream: BinaryIO) -> list[str] | None:
    """Read one sentence; ``None`` when the peer closed the connection between sentences."""
    words: list[str] = []
    while True:
        first = stream.read(1)
        if not first:
            if words:
                raise EOFError("connection closed inside a sentence")
            return None
        size = prefix_size(first[0])
        length = decode_length(first + _read_exact(stream, size - 1)) if size > 1 else first[0]
        if length == 0:
            return words
        if length > MAX_WORD_LENGTH:
            raise ProtocolViolation(f"word of {length} bytes is too long")
        # surrogateescape keeps any byte sequence intact when it is echoed back
        words.append(_read_exact(stream, length).decode(WIRE_ENCODING, "surrogateescape"))


@dataclass
class Command:
    """A parsed command sentence."""

    path: str
    attributes: dict[str, str] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)
    tag: str | None = None

    @classmethod
    def parse(cls, words: list[str]) -> Command:
        command = cls(path=words[0])
        for word in words[1:]:
            if word.startswith("="):
                name, _, value = word[1:].partition("=")
                command.attributes[name] = value
            elif word.startswith("?"):
                command.queries.append(word)
            elif word.startswith(".tag="):
                # API attribute word: no leading "=". An empty tag means "untagged".
                command.tag = word[len(".tag=") :] or None
        return command


@dataclass
class Reply:
    """One reply sentence: ``!re``, ``!done`` or ``!trap`` with its attribute words."""

    word: str
    attributes: dict[str, str] = field(default_factory=dict)

    def encode(self, tag: str | None) -> bytes:
        words = [self.word, *(f"={name}={value}" for name, value in self.attributes.items())]
        if tag is not None:
            words.append(f".tag={tag}")
        return encode_sentence(words)


def fatal_sentence(reason: str) -> bytes:
    # The reason of !fatal is a bare word, not an attribute; librouteros reads words[0].
    return encode_sentence(["!fatal", reason])


class Trap(Exception):
    """Raised by command handlers; becomes ``!trap =category=N =message=...`` followed by ``!done``."""

    def __init__(self, message: str, category: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.category = category

    def replies(self) -> list[Reply]:
        attributes = {} if self.category is None else {"category": str(self.category)}
        # librouteros builds TrapError(**words): a trap may carry only "category" and "message".
        attributes["message"] = self.message
        return [Reply("!trap", attributes), Reply("!done")]


def invalid_value(name: str) -> Trap:
    return Trap(f"invalid value for argument {name}", 1)


# --------------------------------------------------------------------------------------
# Values in RouterOS form
# --------------------------------------------------------------------------------------

_TRUE_WORDS = {"yes", "true"}
_FALSE_WORDS = {"no", "false"}
_RATE_MULTIPLIERS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3}
_RATE_RE = re.compile(r"^(\d+(?:\.\d+)?)([kKmMgG]?)$")
_IP_LIKE_RE = re.compile(r"^[0-9.:/a-fA-F]*[.:][0-9.:/a-fA-F]*$")
PPP_SERVICES = {"any", "async", "l2tp", "ovpn", "pppoe", "pptp", "sstp"}


def normalize_bool(value: str) -> str:
    lowered = value.lower()
    if lowered in _TRUE_WORDS:
        return "true"
    if lowered in _FALSE_WORDS:
        return "false"
    raise ValueError(value)


def normalize_mac(value: str) -> str:
    """``aa-bb-cc-dd-ee-ff``, ``aabb.ccdd.eeff``, ``aabbccddeeff`` → ``AA:BB:CC:DD:EE:FF``."""
    digits = re.sub(r"[:\-.]", "", value)
    if not re.fullmatch(r"[0-9A-Fa-f]{12}", digits):
        raise ValueError(value)
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2)).upper()


def normalize_ipv4(value: str) -> str:
    return str(ipaddress.IPv4Address(value))


def parse_rate(value: str) -> int:
    """``512k`` → 512000, ``1.5M`` → 1500000 (k, M and G are powers of 1000)."""
    match = _RATE_RE.match(value.strip())
    if not match:
        raise ValueError(value)
    try:
        number = Decimal(match.group(1))
    except InvalidOperation as error:
        raise ValueError(value) from error
    return int(number * _RATE_MULTIPLIERS[match.group(2).lower()])


def normalize_rate_pair(value: str) -> str:
    """``10M/50M`` → ``10000000/50000000``: RouterOS stores and prints plain bits per second."""
    parts = value.split("/")
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2:
        raise ValueError(value)
    return "/".join(str(parse_rate(part)) for part in parts)


def normalize_priority(value: str) -> str:
    parts = value.split("/")
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(part.isdigit() and 1 <= int(part) <= 8 for part in parts):
        raise ValueError(value)
    return "/".join(parts)


def normalize_target(value: str) -> str:
    """Comma list of hosts/networks/interfaces; a bare host gets its ``/32`` (or ``/128``)."""
    entries = []
    for entry in filter(None, (part.strip() for part in value.split(","))):
        if _IP_LIKE_RE.match(entry):
            entries.append(str(ipaddress.ip_network(entry, strict=False)))
        else:
            entries.append(entry)  # an interface such as <pppoe-user1>
    return ",".join(entries)


def normalize_service(value: str) -> str:
    if value not in PPP_SERVICES:
        raise ValueError(value)
    return value


def normalize_integer(value: str) -> str:
    return str(int(value))


# Per-property input normalisation; used for written values and for query values alike.
NORMALIZERS: dict[str, Callable[[str], str]] = {
    "address": normalize_ipv4,
    "mac-address": normalize_mac,
    "local-address": normalize_ipv4,
    "remote-address": normalize_ipv4,
    "target": normalize_target,
    "max-limit": normalize_rate_pair,
    "limit-at": normalize_rate_pair,
    "burst-limit": normalize_rate_pair,
    "burst-threshold": normalize_rate_pair,
    "priority": normalize_priority,
    "service": normalize_service,
    "limit-bytes-in": normalize_integer,
    "limit-bytes-out": normalize_integer,
    "disabled": normalize_bool,
    "always-broadcast": normalize_bool,
    "block-access": normalize_bool,
    "use-src-mac": normalize_bool,
}


def normalize_value(name: str, value: str) -> str:
    normalizer = NORMALIZERS.get(name)
    if normalizer is None or (value == "" and normalizer is not normalize_bool):
        return value  # an empty value clears the property
    try:
        return normalizer(value)
    except ValueError as error:
        raise invalid_value(name) from error


def format_duration(seconds: int) -> str:
    """RouterOS duration: ``1w2d3h4m5s``, ``44m55s``, ``0s``."""
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


def format_id(number: int) -> str:
    return f"*{number:X}"


# --------------------------------------------------------------------------------------
# Query stack (print only)
# --------------------------------------------------------------------------------------


def _sort_key(value: str) -> tuple[int, Any]:
    if value.startswith("*"):
        try:
            return (0, int(value[1:], 16))
        except ValueError:
            pass
    try:
        return (0, int(value))
    except ValueError:
        return (1, value)


@functools.lru_cache(maxsize=4096)
def _query_forms(query_value: str, name: str) -> tuple[str | None, str]:
    """(boolean form or None, normalised form) of a query value: computed once, not once per row."""
    boolean = normalize_bool(query_value) if query_value.lower() in _TRUE_WORDS | _FALSE_WORDS else None
    normalizer = NORMALIZERS.get(name)
    if normalizer is not None and query_value:
        try:
            return boolean, normalizer(query_value)
        except ValueError:
            pass
    return boolean, query_value


def _comparable(row_value: str, query_value: str, name: str) -> str:
    """Bring a query value to the stored form: ``no`` == ``false``, ``10M/50M`` == ``10000000/50000000``."""
    boolean, normalized = _query_forms(query_value, name)
    if boolean is not None and row_value in ("true", "false"):
        return boolean
    return normalized


def compile_condition(condition: str) -> Callable[[dict[str, str]], bool]:
    """One ``?`` word without its ``?`` (presence, absence, equality, less/greater than) as a row predicate.

    Parsed and normalised once per command: a filtered print over a big table then costs a dict lookup
    per row, as on a router, instead of re-parsing the word and re-normalising its value for every row.
    """
    if condition.startswith("-"):
        absent = condition[1:]
        return lambda row: absent not in row
    if condition[0] in "=<>":
        operator, body = condition[0], condition[1:]
    else:
        operator, body = "=", condition
        if "=" not in body:
            return lambda row: body in row  # "?name": the property is present
    name, _, value = body.partition("=")
    missing = operator == "=" and value == ""
    boolean, normalized = _query_forms(value, name)
    if operator == "=" and boolean is None:
        # The common case (?address=..., ?name=...): one stored form to compare with.
        return lambda row: missing if (stored := row.get(name)) is None else stored == normalized

    def check(row: dict[str, str]) -> bool:
        stored = row.get(name)
        if stored is None:
            return missing
        wanted = _comparable(stored, value, name)
        if operator == "=":
            return stored == wanted
        if operator == "<":
            return _sort_key(stored) < _sort_key(wanted)
        return _sort_key(stored) > _sort_key(wanted)

    return check


def evaluate_condition(row: dict[str, str], condition: str) -> bool:
    """One ``?`` word without its ``?``: presence, absence, equality, less/greater than."""
    return compile_condition(condition)(row)


def _pop(stack: list[bool]) -> bool:
    # The stack starts as an infinite pile of "true".
    return stack.pop() if stack else True


def _peek(stack: list[bool], index: int) -> bool:
    return stack[-1 - index] if index < len(stack) else True


def apply_stack_operations(stack: list[bool], operations: str) -> None:
    """``?#`` word: ``!`` negate, ``&``/``|`` combine, digits copy by index (top=0), ``.`` copy/separator."""
    position = 0
    while position < len(operations):
        char = operations[position]
        if char.isdigit():
            end = position
            while end < len(operations) and operations[end].isdigit():
                end += 1
            value = _peek(stack, int(operations[position:end]))
            if end == len(operations):
                stack[:] = [value]  # an index at the end of the word replaces the whole stack
            else:
                stack.append(value)
                if operations[end] == ".":
                    end += 1  # "." right after an index is only a separator
            position = end
            continue
        if char == "!":
            stack.append(not _pop(stack))
        elif char in "&|":
            right, left = _pop(stack), _pop(stack)
            stack.append(left and right if char == "&" else left or right)
        elif char == ".":
            stack.append(_peek(stack, 0))
        position += 1


def compile_query(queries: list[str]) -> Callable[[dict[str, str]], bool]:
    """The whole query stack of a ``print`` as one row predicate (conditions compiled once)."""
    steps = []
    for word in queries:
        body = word[1:]
        if body.startswith("#"):
            steps.append((None, body[1:]))
        elif body:
            steps.append((compile_condition(body), ""))
    if all(check is not None for check, _ops in steps):
        checks = [check for check, _ops in steps]  # no stack operations: every condition must hold
        if len(checks) == 1:
            return checks[0]
        return lambda row: all(check(row) for check in checks)

    def match(row: dict[str, str]) -> bool:
        stack: list[bool] = []
        for check, operations in steps:
            if check is None:
                apply_stack_operations(stack, operations)
            else:
                stack.append(check(row))
        return all(stack)

    return match


def row_matches(row: dict[str, str], queries: list[str]) -> bool:
    return compile_query(queries)(row)


# --------------------------------------------------------------------------------------
# Menus and router state
# --------------------------------------------------------------------------------------

LIST_COMMANDS = frozenset({"print", "getall", "add", "set", "remove", "enable", "disable"})


@dataclass
class Menu:
    """One RouterOS menu (``/queue/simple`` …): its rows and what may be written to them."""

    path: str
    columns: tuple[str, ...]
    commands: frozenset[str] = frozenset({"print", "getall"})
    writable: frozenset[str] = frozenset()
    required: tuple[str, ...] = ()
    defaults: dict[str, str] = field(default_factory=dict)
    name_column: str | None = None
    singleton: Callable[[], dict[str, str]] | None = None
    rows: dict[str, dict[str, str]] = field(default_factory=dict)
    last_number: int = 0

    def insert(self, row: dict[str, str]) -> str:
        self.last_number += 1
        row_id = format_id(self.last_number)
        self.rows[row_id] = {".id": row_id, **row}
        return row_id

    def ordered(self, row: dict[str, str]) -> dict[str, str]:
        """Columns in RouterOS print order, absent ones omitted, then anything extra."""
        ordered = {name: row[name] for name in self.columns if name in row}
        ordered.update((name, value) for name, value in row.items() if name not in ordered)
        return ordered

    def snapshot(self) -> list[dict[str, str]]:
        if self.singleton is not None:
            return [self.ordered(self.singleton())]
        return [self.ordered(row) for row in self.rows.values()]

    def find(self, reference: str) -> str | None:
        """Resolve an ``.id`` or (in menus with names) a ``name`` to an ``.id``."""
        if reference in self.rows:
            return reference
        if self.name_column:
            for row_id, row in self.rows.items():
                if row.get(self.name_column) == reference:
                    return row_id
        return None


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _lease_menu() -> Menu:
    return Menu(
        path="/ip/dhcp-server/lease",
        columns=_names(
            ".id address mac-address client-id address-lists server dhcp-option status expires-after last-seen"
            " active-address active-mac-address active-client-id active-server host-name radius dynamic blocked"
            " disabled comment"
        ),
        commands=LIST_COMMANDS | {"make-static"},
        writable=frozenset(
            _names(
                "address mac-address client-id server comment disabled address-lists dhcp-option lease-time"
                " rate-limit always-broadcast block-access use-src-mac"
            )
        ),
        required=("address", "mac-address"),
        defaults={
            "address-lists": "",
            "dhcp-option": "",
            "status": "waiting",
            "last-seen": "never",
            "radius": "false",
            "dynamic": "false",
            "blocked": "false",
            "disabled": "false",
        },
    )


def _queue_menu() -> Menu:
    return Menu(
        path="/queue/simple",
        columns=_names(
            ".id name target parent packet-marks priority queue limit-at max-limit burst-limit burst-threshold"
            " burst-time bucket-size bytes packets dropped rate packet-rate comment disabled dynamic invalid"
        ),
        commands=LIST_COMMANDS,
        writable=frozenset(
            _names(
                "name target parent packet-marks priority queue limit-at max-limit burst-limit burst-threshold"
                " burst-time bucket-size comment disabled"
            )
        ),
        defaults={
            "target": "",
            "parent": "none",
            "packet-marks": "",
            "priority": "8/8",
            "queue": "default-small/default-small",
            "limit-at": "0/0",
            "max-limit": "0/0",
            "burst-limit": "0/0",
            "burst-threshold": "0/0",
            "burst-time": "0s/0s",
            "bucket-size": "0.1/0.1",
            "bytes": "0/0",
            "packets": "0/0",
            "dropped": "0/0",
            "rate": "0/0",
            "packet-rate": "0/0",
            "disabled": "false",
            "dynamic": "false",
            "invalid": "false",
        },
        name_column="name",
    )


def _ppp_secret_menu() -> Menu:
    return Menu(
        path="/ppp/secret",
        columns=_names(
            ".id name service caller-id password profile local-address remote-address routes limit-bytes-in"
            " limit-bytes-out last-logged-out last-caller-id last-disconnect-reason disabled comment"
        ),
        commands=LIST_COMMANDS,
        writable=frozenset(
            _names(
                "name password service profile local-address remote-address caller-id routes limit-bytes-in"
                " limit-bytes-out disabled comment"
            )
        ),
        required=("name",),
        defaults={
            "service": "any",
            "caller-id": "",
            "password": "",
            "profile": "default",
            "routes": "",
            "limit-bytes-in": "0",
            "limit-bytes-out": "0",
            "last-logged-out": "1970-01-01 00:00:00",
            "last-caller-id": "",
            "disabled": "false",
        },
        name_column="name",
    )


def _ppp_active_menu() -> Menu:
    return Menu(
        path="/ppp/active",
        columns=_names(
            ".id name service caller-id address uptime encoding session-id limit-bytes-in limit-bytes-out radius"
        ),
        commands=frozenset({"print", "getall", "remove"}),
        name_column="name",
    )


def _dhcp_server_menu() -> Menu:
    return Menu(
        path="/ip/dhcp-server",
        columns=_names(".id name interface lease-time address-pool use-radius invalid dynamic disabled"),
        name_column="name",
    )


class RouterState:
    """Everything one emulated router holds. All access goes through ``lock``."""

    def __init__(self, identity: str) -> None:
        self.lock = threading.RLock()
        self.identity = identity
        self.booted_at = time.monotonic() - 3 * 86400 - 4 * 3600  # "up for 3d4h" at start
        self.resource_overrides: dict[str, str] = {}
        self.menus: dict[str, Menu] = {}
        for menu in (_dhcp_server_menu(), _lease_menu(), _queue_menu(), _ppp_secret_menu(), _ppp_active_menu()):
            self.menus[menu.path] = menu
        self.menus["/system/resource"] = Menu(path="/system/resource", columns=(), singleton=self._resource_row)
        self.menus["/system/identity"] = Menu(
            path="/system/identity",
            columns=("name",),
            commands=frozenset({"print", "getall", "set"}),
            writable=frozenset({"name"}),
            singleton=lambda: {"name": self.identity},
        )
        self.directories = {prefix for path in self.menus for prefix in _prefixes(path)}

    # -- dispatch ---------------------------------------------------------------------

    def execute(self, command: Command) -> list[Reply]:
        menu_path, _, verb = command.path.rpartition("/")
        menu = self.menus.get(menu_path)
        if menu is None or verb not in menu.commands:
            raise Trap(f"no such command or directory ({self._unknown_segment(command.path)})", 0)
        handler = getattr(self, "_" + ("print" if verb == "getall" else verb).replace("-", "_"))
        with self.lock:
            return handler(menu, command)

    def _unknown_segment(self, path: str) -> str:
        segments = path.strip("/").split("/")
        for depth in range(1, len(segments) + 1):
            if "/" + "/".join(segments[:depth]) not in self.directories:
                return segments[depth - 1]
        return segments[-1]

    # -- commands ---------------------------------------------------------------------

    def _print(self, menu: Menu, command: Command) -> list[Reply]:
        # Match on the stored rows and order only the hits: a filtered print stays cheap on big tables.
        stored = [menu.singleton()] if menu.singleton is not None else menu.rows.values()
        matches = compile_query(command.queries)
        rows = [menu.ordered(row) for row in stored if matches(row)]
        if "count-only" in command.attributes:
            return [Reply("!done", {"ret": str(len(rows))})]
        proplist = command.attributes.get(".proplist")
        if proplist is not None:
            names = [name for name in proplist.split(",") if name]
            rows = [{name: row[name] for name in names if name in row} for row in rows]
        return [Reply("!re", row) for row in rows] + [Reply("!done")]

    def _add(self, menu: Menu, command: Command) -> list[Reply]:
        values = self._writable_values(menu, command.attributes)
        missing = [name for name in menu.required if not values.get(name)]
        if missing:
            raise Trap(f"missing value(s) of argument(s) {', '.join(missing)}", 1)
        row = {**menu.defaults, **values}
        if menu.path == "/queue/simple" and not row.get("name"):
            row["name"] = self._free_queue_name(menu)
        self._validate(menu, row, own_id=None)
        return [Reply("!done", {"ret": menu.insert(row)})]

    def _set(self, menu: Menu, command: Command) -> list[Reply]:
        if menu.singleton is not None:
            values = self._writable_values(menu, command.attributes)
            if "name" in values:
                self.identity = values["name"]
            return [Reply("!done")]
        row_ids = self._targets(menu, command.attributes)
        values = self._writable_values(menu, command.attributes, ignore=(".id", "numbers"))
        updated = {row_id: {**menu.rows[row_id], **values} for row_id in row_ids}
        for row_id, row in updated.items():
            self._validate(menu, row, own_id=row_id)
        menu.rows.update(updated)
        return [Reply("!done")]

    def _remove(self, menu: Menu, command: Command) -> list[Reply]:
        for row_id in self._targets(menu, command.attributes):
            del menu.rows[row_id]
        return [Reply("!done")]

    def _enable(self, menu: Menu, command: Command) -> list[Reply]:
        return self._set_disabled(menu, command, "false")

    def _disable(self, menu: Menu, command: Command) -> list[Reply]:
        return self._set_disabled(menu, command, "true")

    def _make_static(self, menu: Menu, command: Command) -> list[Reply]:
        for row_id in self._targets(menu, command.attributes):
            # The lease keeps its .id; only the dynamic flag changes.
            menu.rows[row_id]["dynamic"] = "false"
        return [Reply("!done")]

    # -- helpers ----------------------------------------------------------------------

    def _set_disabled(self, menu: Menu, command: Command, disabled: str) -> list[Reply]:
        for row_id in self._targets(menu, command.attributes):
            menu.rows[row_id]["disabled"] = disabled
        return [Reply("!done")]

    def _targets(self, menu: Menu, attributes: dict[str, str]) -> list[str]:
        """Rows named by ``=.id=`` or ``=numbers=`` (comma lists; ``numbers`` also takes names)."""
        references = attributes.get(".id", attributes.get("numbers"))
        if references is None:
            raise Trap("missing =.id=", 1)
        row_ids = []
        for reference in filter(None, references.split(",")):
            row_id = menu.find(reference)
            if row_id is None:
                raise Trap("no such item")
            row_ids.append(row_id)
        return row_ids

    def _writable_values(self, menu: Menu, attributes: dict[str, str], ignore: Iterable[str] = ()) -> dict[str, str]:
        values = {}
        for name, value in attributes.items():
            if name in ignore or name == ".proplist":
                continue
            if name not in menu.writable:
                raise Trap(f"unknown parameter {name}", 1)
            values[name] = normalize_value(name, value)
        if values.get("server") == "all":
            values["server"] = ""  # "all" is stored as "no server key"
        return values

    def _validate(self, menu: Menu, row: dict[str, str], own_id: str | None) -> None:
        if "server" in row and not row["server"]:
            del row["server"]
        validators = {
            "/ip/dhcp-server/lease": self._validate_lease,
            "/queue/simple": self._validate_queue,
            "/ppp/secret": self._validate_ppp_secret,
        }
        validator = validators.get(menu.path)
        if validator is not None:
            validator(menu, row, own_id)

    def _validate_lease(self, menu: Menu, row: dict[str, str], own_id: str | None) -> None:
        server = row.get("server")
        if server is not None and self.menus["/ip/dhcp-server"].find(server) is None:
            raise Trap("input does not match any value of server", 1)
        if row.get("dynamic") == "true" or row.get("disabled") == "true":
            return
        mac, address = row.get("mac-address"), row.get("address")
        # Only leases sharing the MAC or the address can conflict: find those in one cheap pass, so a
        # set on one lease of a big table does not cost much per other lease.
        candidates = [
            (other_id, other)
            for other_id, other in menu.rows.items()
            if other.get("mac-address") == mac or other.get("address") == address
        ]
        for other_id, other in candidates:
            if other_id == own_id or other.get("dynamic") == "true" or other.get("disabled") == "true":
                continue
            same_server = server is None or other.get("server") is None or other.get("server") == server
            if same_server and other.get("mac-address") == row.get("mac-address"):
                raise Trap("failure: already have static lease for this client", 1)
            if other.get("address") == row.get("address"):
                raise Trap("failure: already have static lease with this IP address", 1)

    def _validate_queue(self, menu: Menu, row: dict[str, str], own_id: str | None) -> None:
        if self._name_taken(menu, row["name"], own_id):
            raise Trap("failure: already have such name", 1)

    def _validate_ppp_secret(self, menu: Menu, row: dict[str, str], own_id: str | None) -> None:
        if self._name_taken(menu, row["name"], own_id):
            raise Trap("failure: secret with the same name already exists", 1)

    @staticmethod
    def _name_taken(menu: Menu, name: str, own_id: str | None) -> bool:
        return any(row_id != own_id for row_id, row in menu.rows.items() if row.get("name") == name)

    @staticmethod
    def _free_queue_name(menu: Menu) -> str:
        taken = {row.get("name") for row in menu.rows.values()}
        number = 1
        while f"queue{number}" in taken:
            number += 1
        return f"queue{number}"

    def _resource_row(self) -> dict[str, str]:
        row = {
            "uptime": format_duration(int(time.monotonic() - self.booted_at)),
            "version": ROUTEROS_VERSION,
            "build-time": "2025-01-16 08:19:28",
            "factory-software": "6.35.3",
            "free-memory": "973053952",
            "total-memory": "1073741824",
            "cpu": "ARM",
            "cpu-count": "2",
            "cpu-frequency": "1400",
            "cpu-load": "3",
            "free-hdd-space": "92110848",
            "total-hdd-space": "134217728",
            "write-sect-since-reboot": "14202",
            "write-sect-total": "58109",
            "bad-blocks": "0.2",
            "architecture-name": "arm",
            "board-name": "RB3011UiAS",
            "platform": "MikroTik",
        }
        row.update(self.resource_overrides)
        return row


def _prefixes(path: str) -> list[str]:
    segments = path.strip("/").split("/")
    return ["/" + "/".join(segments[:depth]) for depth in range(1, len(segments) + 1)]


# --------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------

FAULT_MODES = ("drop", "apply_then_drop", "trap", "fatal")


@dataclass
class FaultRule:
    """``mode`` for commands whose path matches ``pattern`` (fnmatch), ``remaining`` times (None = always)."""

    pattern: str
    mode: str
    message: str = ""
    category: int | None = None
    remaining: int | None = None


@dataclass
class Faults:
    drop_countdown: int | None = None
    rules: list[FaultRule] = field(default_factory=list)
    delay_seconds: float = 0.0
    reject_login: bool = False

    def take(self, path: str) -> FaultRule | None:
        """The fault that applies to the next command (consuming one use of it), if any."""
        if self.drop_countdown is not None:
            self.drop_countdown -= 1
            if self.drop_countdown <= 0:
                self.drop_countdown = None
                return FaultRule(pattern=path, mode="drop")
        for rule in self.rules:
            if fnmatch.fnmatchcase(path, rule.pattern):
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self.rules.remove(rule)
                return rule
        return None


# --------------------------------------------------------------------------------------
# Connections
# --------------------------------------------------------------------------------------


class _CloseConnection(Exception):
    """Stop serving this connection (after a !fatal, an injected drop, or a protocol error)."""


class Session:
    """One API connection: login state and the read → dispatch → reply loop."""

    def __init__(self, emulator: RouterOSEmulator, sock: socket.socket) -> None:
        self.emulator = emulator
        self.sock = sock
        self.stream = sock.makefile("rb")
        self.logged_in = False
        self.challenge: str | None = None

    def serve(self) -> None:
        try:
            while (words := read_sentence(self.stream)) is not None:
                if words:  # empty sentences are ignored by the router
                    self.handle(Command.parse(words))
        except (_CloseConnection, EOFError, ProtocolViolation, OSError):
            pass
        finally:
            self.close()

    def handle(self, command: Command) -> None:
        if command.path == "/quit":
            self.fatal("session terminated on request")
        if command.path == "/login":
            self.reply(command, self.login(command.attributes))
            return
        if not self.logged_in:
            self.fatal("not logged in")
        if command.path == "/cancel":
            self.reply(command, [Reply("!done")])  # commands run to completion, so nothing to interrupt
            return
        self.reply(command, self.emulator._run(command, self))

    def login(self, attributes: dict[str, str]) -> list[Reply]:
        emulator = self.emulator
        if not attributes:
            # Pre-6.43 challenge: reply with a token, the client answers with an MD5 response.
            self.challenge = secrets.token_hex(16)
            return [Reply("!done", {"ret": self.challenge})]
        with emulator._lock:
            reject = emulator._faults.reject_login
        if not reject and attributes.get("name") == emulator.username and self._password_ok(attributes):
            self.logged_in = True
            emulator._count("logins")
            return [Reply("!done")]
        return Trap(LOGIN_FAILED).replies()

    def _password_ok(self, attributes: dict[str, str]) -> bool:
        password = _wire_bytes(self.emulator.password)
        if "password" in attributes:
            return secrets.compare_digest(_wire_bytes(attributes["password"]), password)
        if self.challenge is None:
            return False
        digest = hashlib.md5(b"\x00" + password + bytes.fromhex(self.challenge), usedforsecurity=False)
        return secrets.compare_digest(_wire_bytes(attributes.get("response", "")), b"00" + digest.hexdigest().encode())

    def reply(self, command: Command, replies: list[Reply]) -> None:
        delay = self.emulator._delay_seconds()
        if delay:
            self._sleep_unless_closed(delay)
        # One write per response: several small writes would stall on Nagle + delayed ACK.
        self.sock.sendall(b"".join(reply.encode(command.tag) for reply in replies))

    def _sleep_unless_closed(self, seconds: float) -> None:
        """Wait before replying, but notice a client that gave up and closed meanwhile, as a router does:
        otherwise its session outlives the client by the whole delay (and ``active_connections`` says so).
        """
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self.sock], [], [], min(remaining, 0.05))
            if not readable:
                continue
            try:
                peeked = self.sock.recv(1, socket.MSG_PEEK)
            except ValueError:  # TLS sockets cannot peek: just wait
                time.sleep(remaining)
                return
            except OSError:
                raise _CloseConnection("peer reset") from None
            if not peeked:
                raise _CloseConnection("peer closed")
            time.sleep(remaining)  # the next command already arrived: it waits its turn
            return

    def fatal(self, reason: str) -> None:
        self.sock.sendall(fatal_sentence(reason))
        raise _CloseConnection(reason)

    def drop(self) -> None:
        """Close abruptly: no reply, no TLS close_notify."""
        raise _CloseConnection("dropped")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.stream.close()
        self.sock.close()


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        emulator = self.server.emulator
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        emulator._count("connections")
        if emulator._tls_context is not None:
            try:
                sock.settimeout(10)
                sock = emulator._tls_context.wrap_socket(sock, server_side=True)
                sock.settimeout(None)
            except (OSError, ssl.SSLError):
                sock.close()
                return
        emulator._track(sock, open_=True)
        try:
            Session(emulator, sock).serve()
        finally:
            emulator._track(sock, open_=False)


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256

    def __init__(self, emulator: RouterOSEmulator, port: int) -> None:
        self.emulator = emulator
        super().__init__((LOOPBACK, port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients vanishing mid-reply are normal here; anything else is a bug worth seeing."""
        error = sys.exc_info()[1]
        if not isinstance(error, OSError | EOFError):
            super().handle_error(request, client_address)


# --------------------------------------------------------------------------------------
# TLS
# --------------------------------------------------------------------------------------


def _self_signed_certificate(common_name: str) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for ``common_name``, valid for localhost/127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address(LOOPBACK))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def _load_into_context(loader: Callable[[str], None], data: bytes) -> None:
    """SSLContext only loads from files: hand it a private temporary file."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "material.pem")
        with open(path, "wb") as handle:
            handle.write(data)
        loader(path)


def anonymous_tls_context() -> ssl.SSLContext:
    """Server context like API-SSL without a certificate: anonymous DH, TLS 1.2 at most."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # TLS 1.3 has no anonymous suites
    context.set_ciphers("ADH:@SECLEVEL=0")
    _load_into_context(context.load_dh_params, FFDHE2048_PEM.encode())
    return context


def certificate_tls_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _load_into_context(lambda path: context.load_cert_chain(path), cert_pem + key_pem)
    return context


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


class RouterOSEmulator:
    """An emulated MikroTik router speaking the RouterOS API on 127.0.0.1.

    ``tls``: ``None`` (plain API), ``"cert"`` (self-signed certificate; see ``cert_pem`` and
    ``cert_sha256_fingerprint``) or ``"anonymous"`` (anonymous DH, TLS 1.2).
    ``send_empty`` makes empty prints answer ``!empty`` + ``!done`` like RouterOS ≥ 7.18.
    """

    host = LOOPBACK

    def __init__(
        self,
        username: str = "admin",
        password: str = "secret",
        identity: str = "EmuRouter",
        leases: int = 0,
        tls: str | None = None,
        port: int = 0,
        cert_path: str | None = None,
        dhcp_servers: Iterable[str] = ("dhcp1",),
        send_empty: bool = False,
    ) -> None:
        if tls not in (None, "cert", "anonymous"):
            raise ValueError("tls must be None, 'cert' or 'anonymous'")
        self.username = username
        self.password = password
        self.tls = tls
        self.send_empty = send_empty
        self.cert_path = cert_path
        self.cert_pem: str | None = None
        self.cert_sha256_fingerprint: str | None = None
        self._requested_port = port
        self._initial_identity = identity
        self._initial_leases = leases
        self._initial_servers = tuple(dhcp_servers)
        self._lock = threading.RLock()
        self._faults = Faults()
        self._open_sockets: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tls_context: ssl.SSLContext | None = None
        self.port = 0
        self.connections = 0
        self.logins = 0
        self.commands = 0
        self.command_log: list[tuple[str, dict[str, str]]] = []
        self._state = RouterState(identity)
        self._populate()

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> RouterOSEmulator:
        if self._server is not None:
            return self
        self._tls_context = self._make_tls_context()
        self._server = _Server(self, self._requested_port)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"routeros-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting and cut every open connection."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            sockets = list(self._open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server = None
        self._thread = None

    def __enter__(self) -> RouterOSEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def active_connections(self) -> int:
        with self._lock:
            return len(self._open_sockets)

    # -- state helpers (bypass the API; no uniqueness checks) ---------------------------

    def reset(self) -> None:
        """Back to the state right after construction: rows, identity, counters and faults."""
        with self._lock, self._state.lock:
            self._state = RouterState(self._initial_identity)
            self._faults = Faults()
            self.connections = self.logins = self.commands = 0
            self.command_log = []
            self._populate()

    def add_dhcp_server(self, name: str, interface: str = "bridge", address_pool: str = "dhcp_pool0") -> str:
        row = {
            "name": name,
            "interface": interface,
            "lease-time": "30m",
            "address-pool": address_pool,
            "use-radius": "no",
            "invalid": "false",
            "dynamic": "false",
            "disabled": "false",
        }
        return self._insert("/ip/dhcp-server", row)

    def add_lease(
        self,
        address: str,
        mac: str,
        host_name: str | None = None,
        dynamic: bool = True,
        status: str = "bound",
        server: str = "dhcp1",
        comment: str | None = None,
        **extra: str,
    ) -> str:
        """Insert a lease as the DHCP server would have; returns its ``.id``."""
        mac = normalize_mac(mac)
        with self._state.lock:
            if server != "all" and self._state.menus["/ip/dhcp-server"].find(server) is None:
                self.add_dhcp_server(server)
        row = {
            "address": normalize_ipv4(address),
            "mac-address": mac,
            "address-lists": "",
            "dhcp-option": "",
            "status": status,
            "last-seen": "never",
            "radius": "false",
            "dynamic": _bool(dynamic),
            "blocked": "false",
            "disabled": "false",
        }
        if server != "all":
            row["server"] = server
        if status == "bound":
            row.update(
                {
                    "client-id": "1:" + mac.lower(),
                    "expires-after": "9m12s",
                    "last-seen": "48s",
                    "active-address": row["address"],
                    "active-mac-address": mac,
                    "active-client-id": "1:" + mac.lower(),
                }
            )
            if server != "all":
                row["active-server"] = server
        if host_name is not None:
            row["host-name"] = host_name
        if comment is not None:
            row["comment"] = comment
        row.update(_dashed(extra))
        return self._insert("/ip/dhcp-server/lease", row)

    def add_queue(self, name: str, target: str, max_limit: str = "0/0", **extra: str) -> str:
        menu = self._state.menus["/queue/simple"]
        row = {
            **menu.defaults,
            "name": name,
            "target": normalize_target(target),
            "max-limit": normalize_rate_pair(max_limit),
        }
        row.update({key: normalize_value(key, value) for key, value in _dashed(extra).items()})
        return self._insert("/queue/simple", row)

    def set_queue_stats(
        self,
        name: str,
        bytes: str | None = None,
        rate: str | None = None,  # noqa: A002
        packets: str | None = None,
    ) -> None:
        """Set the traffic counters of a queue (``up/down`` strings)."""
        with self._state.lock:
            menu = self._state.menus["/queue/simple"]
            row = menu.rows[_require(menu.find(name), name)]
            for key, value in (("bytes", bytes), ("rate", rate), ("packets", packets)):
                if value is not None:
                    row[key] = value

    def add_ppp_secret(
        self,
        name: str,
        password: str = "",
        service: str = "pppoe",
        profile: str = "default",
        remote_address: str | None = None,
        local_address: str | None = None,
        comment: str | None = None,
        disabled: bool = False,
        **extra: str,
    ) -> str:
        menu = self._state.menus["/ppp/secret"]
        row = {
            **menu.defaults,
            "name": name,
            "password": password,
            "service": normalize_service(service),
            "profile": profile,
            "disabled": _bool(disabled),
        }
        if remote_address is not None:
            row["remote-address"] = normalize_ipv4(remote_address)
        if local_address is not None:
            row["local-address"] = normalize_ipv4(local_address)
        if comment is not None:
            row["comment"] = comment
        row.update(_dashed(extra))
        return self._insert("/ppp/secret", row)

    def add_ppp_active(
        self, name: str, address: str, caller_id: str, uptime: str = "1h2m3s", service: str = "pppoe", **extra: str
    ) -> str:
        with self._state.lock:
            number = self._state.menus["/ppp/active"].last_number + 1
        row = {
            "name": name,
            "service": service,
            "caller-id": caller_id,
            "address": address,
            "uptime": uptime,
            "encoding": "",
            "session-id": f"0x{0x81100000 + number:X}",
            "limit-bytes-in": "0",
            "limit-bytes-out": "0",
            "radius": "false",
        }
        row.update(_dashed(extra))
        return self._insert("/ppp/active", row)

    def remove_ppp_active(self, name: str) -> None:
        with self._state.lock:
            menu = self._state.menus["/ppp/active"]
            menu.rows.pop(_require(menu.find(name), name))

    def set_identity(self, name: str) -> None:
        with self._state.lock:
            self._state.identity = name

    @property
    def identity(self) -> str:
        return self._state.identity

    def set_resource(self, **fields: Any) -> None:
        """Override ``/system/resource`` values, e.g. ``set_resource(cpu_load=87, uptime="5m")``."""
        with self._state.lock:
            self._state.resource_overrides.update({key: str(value) for key, value in _dashed(fields).items()})

    def leases(self) -> list[dict[str, str]]:
        return self._rows("/ip/dhcp-server/lease")

    def queues(self) -> list[dict[str, str]]:
        return self._rows("/queue/simple")

    def ppp_secrets(self) -> list[dict[str, str]]:
        return self._rows("/ppp/secret")

    def ppp_active(self) -> list[dict[str, str]]:
        return self._rows("/ppp/active")

    def dhcp_servers(self) -> list[dict[str, str]]:
        return self._rows("/ip/dhcp-server")

    # -- faults -----------------------------------------------------------------------

    def drop_after_sentences(self, count: int) -> None:
        """Close the connection, without replying, on the ``count``-th command read from now (any connection)."""
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._faults.drop_countdown = count

    def fail_on(
        self,
        command_path: str,
        mode: str = "drop",
        message: str = "failure: injected fault",
        times: int | None = None,
        category: int | None = None,
    ) -> None:
        """Make commands matching ``command_path`` (fnmatch pattern) fail.

        ``mode``: ``drop`` (close without executing), ``apply_then_drop`` (execute, then close before
        replying), ``trap`` (``!trap =message=<message>`` + ``!done``) or ``fatal`` (``!fatal <message>``).
        ``times``: how many matching commands fail (``None``: all of them).
        """
        if mode not in FAULT_MODES:
            raise ValueError(f"mode must be one of {FAULT_MODES}")
        with self._lock:
            self._faults.rules.append(FaultRule(command_path, mode, message, category, times))

    def trap_on(self, command_path: str, message: str, times: int | None = None, category: int | None = None) -> None:
        self.fail_on(command_path, mode="trap", message=message, times=times, category=category)

    def delay(self, seconds: float) -> None:
        """Sleep ``seconds`` before every reply (login included)."""
        with self._lock:
            self._faults.delay_seconds = seconds

    @property
    def reject_login(self) -> bool:
        return self._faults.reject_login

    @reject_login.setter
    def reject_login(self, value: bool) -> None:
        with self._lock:
            self._faults.reject_login = bool(value)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults = Faults()

    # -- internals --------------------------------------------------------------------

    def _run(self, command: Command, session: Session) -> list[Reply]:
        """Run a logged-in command, applying any injected fault."""
        with self._lock:
            fault = self._faults.take(command.path)
        if fault is not None and fault.mode == "drop":
            session.drop()
        if fault is not None and fault.mode == "fatal":
            session.fatal(fault.message)
        with self._lock:
            self.commands += 1
            self.command_log.append((command.path, dict(command.attributes)))
        if fault is not None and fault.mode == "trap":
            return Trap(fault.message, fault.category).replies()
        try:
            replies = self._state.execute(command)
        except Trap as trap:
            replies = trap.replies()
        if fault is not None and fault.mode == "apply_then_drop":
            session.drop()
        is_print = command.path.rpartition("/")[2] in ("print", "getall")
        if self.send_empty and is_print and [reply.word for reply in replies] == ["!done"]:
            replies.insert(0, Reply("!empty"))
        return replies

    def _delay_seconds(self) -> float:
        with self._lock:
            return self._faults.delay_seconds

    def _count(self, counter: str) -> None:
        with self._lock:
            setattr(self, counter, getattr(self, counter) + 1)

    def _track(self, sock: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._open_sockets.add(sock)
            else:
                self._open_sockets.discard(sock)

    def _insert(self, menu_path: str, row: dict[str, str]) -> str:
        with self._state.lock:
            return self._state.menus[menu_path].insert(row)

    def _rows(self, menu_path: str) -> list[dict[str, str]]:
        with self._state.lock:
            return self._state.menus[menu_path].snapshot()

    def _populate(self) -> None:
        for server in self._initial_servers:
            self.add_dhcp_server(server)
        for index in range(self._initial_leases):
            self.add_lease(*generated_lease(index), server=self._initial_servers[0] if self._initial_servers else "all")

    def _make_tls_context(self) -> ssl.SSLContext | None:
        if self.tls == "anonymous":
            return anonymous_tls_context()
        if self.tls == "cert":
            cert_pem, key_pem = _self_signed_certificate(self._state.identity)
            self.cert_pem = cert_pem.decode()
            self.cert_sha256_fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(self.cert_pem)).hexdigest()
            if self.cert_path:
                with open(self.cert_path, "wb") as handle:
                    handle.write(cert_pem)
            return certificate_tls_context(cert_pem, key_pem)
        return None


def generated_lease(index: int) -> tuple[str, str, str]:
    """Deterministic (address, MAC, host name) of the ``index``-th pre-populated lease (data only)."""
    address = f"10.50.{index // 254}.{index % 254 + 1}"
    mac = "02:00:00:" + ":".join(f"{(index >> shift) & 0xFF:02X}" for shift in (16, 8, 0))
    return address, mac, f"client-{index + 1:04d}"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _dashed(fields: dict[str, Any]) -> dict[str, Any]:
    return {key.replace("_", "-"): value for key, value in fields.items()}


def _require(row_id: str | None, reference: str) -> str:
    if row_id is None:
        raise KeyError(reference)
    return row_id


# --------------------------------------------------------------------------------------
# Standalone
# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="MikroTik RouterOS API emulator (binds 127.0.0.1 only).")
    parser.add_argument("--port", type=int, default=8728)
    parser.add_argument("--leases", type=int, default=0, help="pre-populate N dynamic bound leases")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--identity", default="EmuRouter")
    parser.add_argument("--tls", choices=("cert", "anonymous"))
    parser.add_argument("--cert-out", help="write the self-signed certificate (PEM) here (--tls cert)")
    args = parser.parse_args(argv)

    emulator = RouterOSEmulator(
        username=args.username,
        password=args.password,
        identity=args.identity,
        leases=args.leases,
        tls=args.tls,
        port=args.port,
        cert_path=args.cert_out,
    )
    emulator.start()
    print(
        f"RouterOS API emulator listening on {emulator.host}:{emulator.port}"
        f" (user {emulator.username!r}, tls={emulator.tls or 'off'}, leases={args.leases})",
        flush=True,
    )
    if emulator.cert_sha256_fingerprint:
        print(f"certificate SHA-256 fingerprint: {emulator.cert_sha256_fingerprint}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
