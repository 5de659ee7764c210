"""Senders of SMS and voice messages. The platform ships a logged fake; a real gateway plugs in here."""

from __future__ import annotations

import logging
from typing import Protocol

from backend.core.identity import mask_phone

log = logging.getLogger("eldercare.notifications")


class Sender(Protocol):
    """Deliver one message; raise on failure (it is retried)."""

    async def send(self, phone: str, body: str) -> None: ...


class LoggedFakeSender:
    """Writes each message to the log instead of a gateway (tests, demos, a deployment without one)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def send(self, phone: str, body: str) -> None:
        log.info("%s to %s: %s", self.channel, mask_phone(phone), body)


def senders(kind: str) -> dict[str, Sender]:
    """The senders per channel for ``ELDERCARE_NOTIFY_SENDER`` (only ``fake`` ships with the platform)."""
    if kind != "fake":
        raise ValueError(f"unknown notification sender {kind!r}; only 'fake' is built in")
    return {"sms": LoggedFakeSender("sms"), "voice": LoggedFakeSender("voice")}
