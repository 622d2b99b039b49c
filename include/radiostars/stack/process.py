"""Running commands and waiting for services: the small helpers every part of the stack uses."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable

from radiostars.errors import RadiostarsError


class StackError(RadiostarsError):
    """A service could not be set up or started; the message says what to do."""


def run(
    cmd: list[str], what: str, env: dict | None = None, user: str | None = None, input_text: str | None = None
) -> str:
    if user is not None and os.geteuid() == 0:
        cmd = ["runuser", "-u", user, "--", *cmd]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, input=input_text)
    if result.returncode != 0:
        raise StackError(
            f"{what} failed (exit {result.returncode}): {(result.stderr or result.stdout).strip()[-1500:]}"
        )
    return result.stdout


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        return sock.connect_ex((host, port)) == 0


def wait_for(check: Callable[[], bool], what: str, timeout_s: float, log_hint: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - a service that is still starting may raise anything
            pass
        time.sleep(0.5)
    raise StackError(f"{what} did not become ready within {timeout_s:.0f} s{log_hint}")
