"""Create the local `.env` from `.env.example` and fill the generated secrets (never committed)."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from radiostars.config import GENERATED_SECRETS, PROJECT_ROOT, parse_env_file


def _generate(key: str) -> str:
    if key == "AIRFLOW_FERNET_KEY":
        from cryptography.fernet import Fernet

        return Fernet.generate_key().decode()
    return secrets.token_urlsafe(48)


def ensure_env_file(env_path: Path = PROJECT_ROOT / ".env",
                    example_path: Path = PROJECT_ROOT / ".env.example") -> list[str]:
    """Idempotent: keeps every value already in .env, adds missing keys from the example, fills
    empty generated secrets. Returns the keys it generated."""
    if not env_path.exists():
        env_path.write_text(example_path.read_text())
    current = parse_env_file(env_path)
    example = parse_env_file(example_path)
    lines = env_path.read_text().splitlines()
    missing = [key for key in example if key not in current]
    if missing:
        lines.append("# added from .env.example")
        lines += [f"{key}={example[key]}" for key in missing]
        current.update({key: example[key] for key in missing})
    generated = []
    for key in GENERATED_SECRETS:
        if not current.get(key):
            value = _generate(key)
            generated.append(key)
            lines = [f"{key}={value}" if line.split("=", 1)[0].strip() == key else line for line in lines]
            if not any(line.split("=", 1)[0].strip() == key for line in lines):
                lines.append(f"{key}={value}")
    env_path.write_text("\n".join(lines) + "\n")
    env_path.chmod(0o600)
    return generated


if __name__ == "__main__":
    made = ensure_env_file()
    print(f".env ready{' (generated ' + ', '.join(made) + ')' if made else ''}", file=sys.stderr)
