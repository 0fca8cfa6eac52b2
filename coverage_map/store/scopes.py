"""Who sees which dataset version, and whose sequence numbers it.

A session's private versions are numbered in its own sequence (its *scope*, the digest of its token),
so saving a name another session uses gives "v1" and reveals nothing; published versions and those added
for the whole workspace share the workspace's sequence (scope ``''``). Publishing moves a private
version into the workspace's sequence, under its next number.
"""

from __future__ import annotations

import sqlalchemy as sa

from .backend import DATASETS, NAMES


def visible(owner_key: str | None, include_private: bool) -> sa.ColumnElement[bool]:
    if include_private:
        return sa.true()
    if owner_key is None:
        return DATASETS.c.published == sa.true()
    return sa.or_(DATASETS.c.published == sa.true(), DATASETS.c.owner == owner_key)


def within(owner_key: str | None, private: bool | None) -> sa.ColumnElement[bool]:
    """Versions in ``owner_key``'s private scope (True), in the workspace's (False), or either (None)."""
    if private is None:
        return sa.true()
    if not private:
        return DATASETS.c.scope == ""
    return DATASETS.c.scope != "" if owner_key is None else DATASETS.c.scope == owner_key


def scope_of(owner_key: str | None, published: bool) -> str:
    """The sequence a new version is numbered in: its owner's while private, else the workspace's."""
    return "" if owner_key is None or published else owner_key


def owned(owner_key: str | None) -> sa.ColumnElement[bool]:
    return sa.true() if owner_key is None else DATASETS.c.owner == owner_key


def next_version(conn: sa.Connection, name: str, scope: str) -> int:
    """The next number of ``name`` in ``scope``'s sequence ('' the workspace's, else an owner's own).

    Numbers are never reused after a removal; a scope's first number follows any version a workspace
    made before names were scoped left in it.
    """
    key = name if not scope else f"\x1f{scope}\x1f{name}"
    last = conn.execute(sa.select(NAMES.c.last_version).where(NAMES.c.name == key)).scalar_one_or_none()
    highest = conn.execute(
        sa.select(sa.func.max(DATASETS.c.version)).where(DATASETS.c.name == name, DATASETS.c.scope == scope)
    ).scalar_one_or_none()
    version = max(int(last or 0), int(highest or 0)) + 1
    if last is None:
        conn.execute(sa.insert(NAMES).values(name=key, last_version=version))
    else:
        conn.execute(sa.update(NAMES).where(NAMES.c.name == key).values(last_version=version))
    return version
