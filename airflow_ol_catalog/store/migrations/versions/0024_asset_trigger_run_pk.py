"""A queued write to a marked dataset is one per dataset and run, the run as the catalog keys it
(its job and run id): it was one per dataset and run id, so a run of another job reusing the id
(a run id is unique per job only) kept the real write from triggering Airflow. Run ids are kept
whole (they were cut at 36 characters, which PostgreSQL refused: ids that are not UUIDs can be up
to 1,024 bytes). Filled here from the runs; writes whose run was deleted since keep none. The
downgrade drops the writes the old key cannot hold.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

TABLE = "ol_catalog_asset_trigger_run"
BY_RUN_ID = "uq_ol_catalog_asset_trigger_run_dataset_id_run_id"
BY_RUN = "uq_ol_catalog_asset_trigger_run_dataset_id_run_pk"


def upgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.add_column(sa.Column("run_pk", sa.Integer(), nullable=True))
        batch.alter_column("run_id", type_=sa.Text(), existing_type=sa.String(36), existing_nullable=False)
        batch.drop_constraint(BY_RUN_ID, type_="unique")
        batch.create_unique_constraint(BY_RUN, ["dataset_id", "run_pk"])
    op.execute(
        f"UPDATE {TABLE} SET run_pk = ("
        "SELECT r.id FROM ol_catalog_run r JOIN ol_catalog_job j ON j.id = r.job_id"
        f" WHERE r.run_id = {TABLE}.run_id AND j.namespace = {TABLE}.job_namespace AND j.name = {TABLE}.job_name)"
    )


def downgrade() -> None:
    # Lossy: what the old key cannot hold goes, the writes of runs whose id is longer than 36
    # characters, and all but the first of one dataset's writes by runs of one id in several jobs.
    op.execute(f"DELETE FROM {TABLE} WHERE length(run_id) > 36")
    op.execute(f"DELETE FROM {TABLE} WHERE id NOT IN (SELECT min(id) FROM {TABLE} GROUP BY dataset_id, run_id)")
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_constraint(BY_RUN, type_="unique")
        batch.drop_column("run_pk")
        batch.alter_column("run_id", type_=sa.String(36), existing_type=sa.Text(), existing_nullable=False)
        batch.create_unique_constraint(BY_RUN_ID, ["dataset_id", "run_id"])
