"""Under FabAuthManager: every role that may read assets may also open the catalog's pages.

Airflow's UI lists a plugin's pages (its menu entries and its tabs on DAGs, DAG runs and task
instances) only to users allowed to read Plugins, which FAB's default roles give to Op and Admin
alone. The catalog's pages are for every role that may read assets (Viewer and up, and custom roles
that read assets): this grants those roles `can_read` on Plugins, and nothing else (not the
Plugins page's menu entry). Granting is idempotent; FAB's own role sync adds permissions and never
takes this one away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ASSETS = "Assets"
PLUGINS = "Plugins"
CAN_READ = "can_read"


class RolesSyncFailed(Exception):
    """What FAB did not store; FAB itself only logs such failures."""


@dataclass
class RolesSync:
    auth_manager: str
    applies: bool
    granted: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # roles that may not read assets


def _held(role: Any) -> set[tuple[str, str]]:
    return {(p.action.name, p.resource.name) for p in role.permissions}


def sync_roles(only: list[str] | None = None) -> RolesSync:
    """Grant Plugins read to every role that may read assets, or to those of `only` that may."""
    from airflow.api_fastapi.app import get_auth_manager_cls

    manager = get_auth_manager_cls()
    name = f"{manager.__module__}.{manager.__qualname__}"
    try:
        from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager
    except ImportError:  # the FAB provider is not installed: nothing to sync
        return RolesSync(name, applies=False)
    if not issubclass(manager, FabAuthManager):
        return RolesSync(name, applies=False)
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    result = RolesSync(name, applies=True)
    with get_application_builder() as appbuilder:
        security = appbuilder.sm
        roles = sorted(security.get_all_roles(), key=lambda r: r.name)
        unknown = sorted(set(only or ()) - {r.name for r in roles})
        if unknown:
            raise RolesSyncFailed(f"no role named {', '.join(unknown)}: nothing was changed")
        read_plugins = security.create_permission(CAN_READ, PLUGINS)
        if read_plugins is None:
            raise RolesSyncFailed(f"FAB could not create the permission {CAN_READ} on {PLUGINS} (its log says why)")
        for role in roles:
            if only and role.name not in only:
                continue
            held = _held(role)
            if (CAN_READ, ASSETS) not in held:
                result.skipped.append(role.name)
            elif (CAN_READ, PLUGINS) in held:
                result.already.append(role.name)
            else:
                security.add_permission_to_role(role, read_plugins)
                result.granted.append(role.name)
        # FAB logs a grant it could not store and goes on: read back what is stored.
        security.session.expire_all()
        missing = [n for n in result.granted if (CAN_READ, PLUGINS) not in _held(security.find_role(n))]
        if missing:
            raise RolesSyncFailed(
                f"FAB did not store {CAN_READ} on {PLUGINS} for {', '.join(missing)} (its log says why)"
            )
    return result
