"""A warning logged once per burst: an outage under load gives one line a while, not one per request."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any


class BurstWarning:
    """Logs a warning unless this one was logged in the last ``every_seconds`` (per process); the next
    line says how many were held back."""

    def __init__(self, logger: logging.Logger, every_seconds: float = 30.0) -> None:
        self.logger = logger
        self.every_seconds = every_seconds
        self._lock = threading.Lock()
        self._last = -every_seconds
        self._held_back = 0

    def warn(self, message: str, *args: Any) -> bool:
        """Log ``message % args`` (with the held-back count) if due; returns whether it was logged."""
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.every_seconds:
                self._held_back += 1
                return False
            self._last, held_back, self._held_back = now, self._held_back, 0
        self.logger.warning(message + " (%s more since the last such warning)", *args, held_back)
        return True
