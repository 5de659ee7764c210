"""Where the Alembic migrations are configured, for the `eldercare migrate` command and the simulator."""

from __future__ import annotations

from pathlib import Path

from backend.core.config import REPO_ROOT


def alembic_config() -> object:
    """Alembic's configuration: ./alembic.ini if present (deployments), else the repository's."""
    from alembic.config import Config

    ini = Path.cwd() / "alembic.ini"
    if not ini.exists():
        ini = REPO_ROOT / "alembic.ini"
    config = Config(str(ini))
    config.attributes["configure_logging"] = False
    return config
