"""ol_catalog_replay: quarantined events whose namespace now exists, asset events of writes still
waiting, and the routing transport's spools."""

from __future__ import annotations

import logging

from airflow_ol_catalog.maintenance.client import CatalogClient

log = logging.getLogger(__name__)


def replay_quarantine(catalog_conn_id: str = "ol_catalog_default") -> dict:
    result = CatalogClient.from_connection(catalog_conn_id).post("admin/quarantine/replay")
    log.info("replayed %d quarantined events %s", result["total"], result["replayed"])
    return result


def emit_asset_events(catalog_conn_id: str = "ol_catalog_default") -> dict:
    """Make the Airflow asset events of writes to marked datasets that an API server queued but
    stopped before making (each is made once)."""
    result = CatalogClient.from_connection(catalog_conn_id).post("admin/asset-triggers/emit")
    log.info(
        "writes to marked datasets: %d made %d asset events, %d name no Asset, %d were announced by Airflow",
        result["created"],
        result["events"],
        result["noAsset"],
        result["declared"],
    )
    for failure in result["failed"]:
        log.warning("still waiting: %s", failure)
    return result


def flush_transport_spools() -> dict:
    """Deliver what the routing transport spooled on this machine (a no-op when it is not configured)."""
    from airflow_ol_catalog.transport.loading import build_transport

    try:
        transport = build_transport()
    except ValueError as exc:
        log.info("no routing transport to flush: %s", exc)
        return {}
    done = transport.flush_spools()
    delivered = {name: d.delivered for name, d in done.items()}
    dead_lettered = {name: d.dead_lettered for name, d in done.items()}
    waiting = {name: s.spool.status().events for name, s in transport.senders.items() if s.spool is not None}
    log.info(
        "spooled events delivered %s, refused for good (dead letters) %s, still waiting %s",
        delivered,
        dead_lettered,
        waiting,
    )
    return {"delivered": delivered, "dead_lettered": dead_lettered, "waiting": waiting}
