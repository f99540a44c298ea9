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

ASSETS = "Assets"
PLUGINS = "Plugins"
CAN_READ = "can_read"


@dataclass
class RolesSync:
    auth_manager: str
    applies: bool
    granted: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # roles that may not read assets


def sync_roles() -> RolesSync:
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
        read_plugins = security.create_permission(CAN_READ, PLUGINS)
        for role in sorted(security.get_all_roles(), key=lambda r: r.name):
            held = {(p.action.name, p.resource.name) for p in role.permissions}
            if (CAN_READ, ASSETS) not in held:
                result.skipped.append(role.name)
            elif (CAN_READ, PLUGINS) in held:
                result.already.append(role.name)
            else:
                security.add_permission_to_role(role, read_plugins)
                result.granted.append(role.name)
    return result
