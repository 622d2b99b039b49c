"""Create the local `.env` from `.env.example` and generate every secret into it (never committed).

Every credential of the stack (:data:`radiostars.config.GENERATED_SECRETS`) is strong random per machine.
The file is written atomically (a temporary file created 0600, then renamed over `.env`), so no reader
ever sees a half-written file and the secrets are never world-readable, not even for an instant.

Migration: an existing `.env` that still holds a value this project once published as a default
(``radiostars-local``, ``root-local`` ...) or a placeholder gets a generated value in its place; the
next ``stack up`` moves the running databases to the new passwords (docs/security.md).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from radiostars.config import GENERATED_SECRETS, PROJECT_ROOT, is_weak_secret, parse_env_file


def _generate(key: str) -> str:
    if key == "AIRFLOW_FERNET_KEY":
        from cryptography.fernet import Fernet

        return Fernet.generate_key().decode()
    # 32 random bytes; URL-safe alphabet (A-Z a-z 0-9 - _), so it needs no quoting in URLs, DSNs or YAML
    return secrets.token_urlsafe(32)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically with mode 0600 from the first byte (temp file + rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)  # whatever the umask
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def ensure_env_file(
    env_path: Path = PROJECT_ROOT / ".env", example_path: Path = PROJECT_ROOT / ".env.example"
) -> list[str]:
    """Idempotent: keeps every value already in .env, adds missing keys from the example, generates every
    secret that is empty, a placeholder or a known default. Returns the keys it generated."""
    text = env_path.read_text() if env_path.exists() else example_path.read_text()
    current = parse_env_file(env_path) if env_path.exists() else parse_env_file(example_path)
    example = parse_env_file(example_path)
    lines = text.splitlines()
    missing = [key for key in example if key not in current]
    if missing:
        lines.append("# added from .env.example")
        lines += [f"{key}={example[key]}" for key in missing]
        current.update({key: example[key] for key in missing})
    generated = []
    for key in GENERATED_SECRETS:
        if is_weak_secret(current.get(key, "")):
            value = _generate(key)
            generated.append(key)
            lines = [f"{key}={value}" if line.split("=", 1)[0].strip() == key else line for line in lines]
            if not any(line.split("=", 1)[0].strip() == key for line in lines):
                lines.append(f"{key}={value}")
    new_text = "\n".join(lines) + "\n"
    if not env_path.exists() or new_text != env_path.read_text():
        write_private(env_path, new_text)
    env_path.chmod(0o600)
    return generated


if __name__ == "__main__":
    made = ensure_env_file()
    print(f".env ready{' (generated ' + ', '.join(made) + ')' if made else ''}", file=sys.stderr)
