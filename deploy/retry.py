"""Throttling retried with jittered exponential backoff (the Sceptre approach).

CloudFormation's describe calls are rate limited per account; a deploy that polls a root and
several nested stacks can hit the limit, and one throttled call must not fail a deployment.
botocore retries a few times itself; this outer loop waits longer ("full jitter", as in the AWS
Architecture Blog's "Exponential Backoff and Jitter") before giving up.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)

THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)


# A permission is missing: retrying or reading it as "not found" would hide that.
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def is_throttling(error: ClientError) -> bool:
    return error_code(error) in THROTTLING_CODES


class Retrying:
    """Calls ``method(**kwargs)``, retrying throttled calls up to ``attempts`` times in all."""

    def __init__(
        self,
        *,
        attempts: int = 8,
        base: float = 0.5,
        cap: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ):
        self.attempts = attempts
        self.base = base
        self.cap = cap
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    def __call__(self, method: Callable[..., Any], **kwargs: Any) -> Any:
        for attempt in range(1, self.attempts + 1):
            try:
                return method(**kwargs)
            except ClientError as error:
                if not is_throttling(error) or attempt == self.attempts:
                    raise
                delay = self.rng.uniform(0, min(self.cap, self.base * 2**attempt))
                logger.info("%s throttled; retrying in %.1fs", _name(method), delay)
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def _name(method: Callable[..., Any]) -> str:
    return getattr(method, "__name__", repr(method))
