"""Senders of SMS and voice messages. The platform ships a logged fake; a real gateway plugs in here."""

from __future__ import annotations

import logging
from typing import Protocol

from backend.core.identity import mask_phone
from backend.notifications.templates import without_codes

log = logging.getLogger("eldercare.notifications")


class Sender(Protocol):
    """Deliver one message; raise on failure (it is retried)."""

    async def send(self, phone: str, body: str) -> None: ...


class LoggedFakeSender:
    """Writes each message to the log instead of a gateway (tests, demos, a deployment without one); one-time
    codes never reach the log (the queued message, ``GET /api/v1/elders/{id}/notifications``, shows them)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def send(self, phone: str, body: str) -> None:
        log.info("%s to %s: %s", self.channel, mask_phone(phone), without_codes(body))


def senders(kind: str) -> dict[str, Sender]:
    """The senders per channel for ``ELDERCARE_NOTIFY_SENDER`` (only ``fake`` ships with the platform)."""
    if kind != "fake":
        raise ValueError(f"unknown notification sender {kind!r}; only 'fake' is built in")
    return {"sms": LoggedFakeSender("sms"), "voice": LoggedFakeSender("voice")}
