"""Whether a workspace is whole: the database's own check, then every stored version complete.

:meth:`Workspace.check_integrity <coverage_map.store.Workspace.check_integrity>` calls
:func:`check_integrity`. The fault suite (``tests/faults``) runs it after killing a worker in the
middle of a save, stopping PostgreSQL and filling the disk: a version is stored whole or not at all.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from ..spec import REQUIRED_ROLES
from .backend import DATASETS, INPUTS, Backend


def check_integrity(backend: Backend) -> list[str]:
    """What is wrong with the workspace in ``backend`` (an empty list: nothing).

    * the database's own check (a GeoPackage: SQLite's ``integrity_check`` and ``foreign_key_check``);
    * every version has its required inputs (``areas`` and ``assets``) and at least one input;
    * every spatial input has one stored geometry per feature.
    """
    with backend.reading() as conn:
        problems = list(backend.storage_problems(conn))
        versions = conn.execute(sa.select(DATASETS.c.id, DATASETS.c.name, DATASETS.c.version)).all()
        inputs = conn.execute(sa.select(INPUTS.c.id, INPUTS.c.dataset_id, INPUTS.c.role, INPUTS.c.storage,
                                        INPUTS.c.features)).all()  # fmt: skip
        rows = conn.execute(sa.text("SELECT input_id, COUNT(*) FROM cm_geometries GROUP BY input_id")).all()
    counted: dict[int, int] = {int(input_id): int(count) for input_id, count in rows}
    roles: dict[int, set[str]] = defaultdict(set)
    for item in inputs:
        roles[item.dataset_id].add(item.role)
        stored = counted.get(int(item.id), 0)
        if item.storage == "table" and stored != int(item.features):
            problems.append(f"input {item.id} ({item.role}) has {stored} geometries for {item.features} features")
    for version in versions:
        missing = [role for role in REQUIRED_ROLES if role not in roles[version.id]]
        if missing:
            problems.append(f"{version.name} v{version.version} has no {' or '.join(missing)} input")
    return problems
