"""Publishers without an SDK: the console (readable cards on stdout) and a JSON-lines file.

Telegram and Discord publishers live in `bot/frontends/`; all share the `Publisher` port.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bot.ports import Clock, SendOutcome, SendResult


@dataclass(slots=True)
class ConsolePublisher:
    """Print each message to a text stream, headed by its target."""

    stream: TextIO
    platform: str = "console"
    sent: int = 0

    async def send(self, target: str, text: str, *, silent: bool) -> SendResult:
        """Write one message; never fails short of a closed stream."""
        mark = " (silent)" if silent else ""
        self.stream.write(f"--- to {target}{mark} ---\n{text}\n\n")
        self.stream.flush()
        self.sent += 1
        return SendResult(outcome=SendOutcome.SENT)


@dataclass(slots=True)
class JsonLinesPublisher:
    """Append each message as one JSON object per line: an audit-friendly channel."""

    path: Path
    clock: Clock
    platform: str = "jsonl"
    sent: int = field(default=0)

    async def send(self, target: str, text: str, *, silent: bool) -> SendResult:
        """Append one line `{"at", "target", "silent", "text"}`."""
        line = json.dumps(
            {"at": self.clock.now().isoformat(), "target": target, "silent": silent, "text": text}
        )
        try:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError as error:
            return SendResult(outcome=SendOutcome.FAILED, detail=f"{self.path}: {error.strerror}")
        self.sent += 1
        return SendResult(outcome=SendOutcome.SENT)
