"""Shared by the fake commands: every call is appended to $FAKE_STATE/calls.jsonl."""

import json
import os
import sys
import time
from pathlib import Path

STATE = Path(os.environ["FAKE_STATE"])


def record(**extra) -> None:
    entry = {"argv": [Path(sys.argv[0]).name, *sys.argv[1:]], "time": time.time(), **extra}
    with open(STATE / "calls.jsonl", "a") as calls:
        calls.write(json.dumps(entry) + "\n")
