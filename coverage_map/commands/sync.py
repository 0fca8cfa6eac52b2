"""``coverage-map workspace sync NAME --url ...``: re-pull a live ORUK feed into a new version (:mod:`coverage_map.feeds`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: Ids listed per kind of change; the rest are counted.
_LISTED_IDS = 20


def add_arguments(sync: argparse.ArgumentParser) -> None:
    """Add the arguments of ``workspace sync`` to its parser (made by :func:`coverage_map.cli._add_workspace_commands`)."""
    from ..cli import _add_fetch_options

    sync.description = (
        "Fetch an Open Referral UK feed again (every page, and the details of services listed without locations), "
        "import it as the asset file, and store it as the next version of the dataset with the other inputs "
        "unchanged. Prints the services added, removed and changed since the latest version. A sync that fails "
        "(network error, HTTP error, invalid data) stores nothing: the latest version stays, and the failure is "
        "recorded with its reason."
    )
    sync.add_argument("name", help="the dataset to sync (its latest version gives the other inputs)")
    sync.add_argument("--url", required=True, help="the feed: an ORUK API base URL or its /services endpoint")
    publish = sync.add_mutually_exclusive_group()
    publish.add_argument("--publish", action="store_true", default=None, help="publish the new version")
    publish.add_argument(
        "--private",
        dest="publish",
        action="store_false",
        help="keep the new version private (default: published if the version synced from is)",
    )
    sync.add_argument("--mapping", type=Path, help="TOML mapping of terms (as for import-oruk)")
    sync.add_argument("--taxonomy", type=Path, help="TOML file extending or replacing the vocabulary")
    sync.add_argument("--postcodes", type=Path, help="postcode file to place locations without coordinates")
    sync.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP request (default %(default)s)")
    sync.add_argument("--max-pages", type=int, default=50, help="pages fetched at most (default %(default)s)")
    _add_fetch_options(sync)
    sync.set_defaults(handler=cmd_workspace_sync)


def cmd_workspace_sync(args: argparse.Namespace) -> int:
    from ..feeds import sync_feed
    from ..ingest.oruk import OrukMapping, summary_lines
    from ..taxonomy import Taxonomy
    from .workspace import open_workspace_of

    taxonomy = Taxonomy.from_toml(args.taxonomy) if args.taxonomy else None
    mapping = OrukMapping.from_toml(args.mapping, taxonomy=taxonomy)
    with open_workspace_of(args) as workspace:
        outcome = sync_feed(
            workspace, args.name, args.url, include_private=True, publish=args.publish, mapping=mapping,
            postcodes=args.postcodes, timeout=args.timeout, max_pages=args.max_pages, rate=args.rate,
            cache=args.cache, details="all" if args.fetch_details else "auto",
        )  # fmt: skip
    if outcome.imported is not None:
        for line in summary_lines(outcome.imported):
            print(line)
    for problem in outcome.problems:
        print(f"  - {problem}", file=sys.stderr)
    record = outcome.record
    if not outcome.ok:
        print(
            f"coverage-map: the sync of {args.name} from {record.url} failed, so {record.name} v{record.version} is "
            f"kept unchanged: {outcome.error}",
            file=sys.stderr,
        )
        return 1
    if outcome.added is None:
        print(f"No change in {record.url} since {record.name} v{record.version}: no new version was stored.")
        return 0
    state = "published" if outcome.added.ref.published else "private until `coverage-map workspace publish`"
    print(
        f"Synced {record.name} v{record.version} ({state}) from {record.url} at {record.synced_at:%Y-%m-%d %H:%M} UTC."
    )
    print(f"Since v{record.base_version}: {record.diff.counts()}, {record.diff.unchanged:,} unchanged.")
    for kind in ("added", "removed", "changed"):
        ids = getattr(record.diff, kind)
        if ids:
            more = f" and {len(ids) - _LISTED_IDS:,} more" if len(ids) > _LISTED_IDS else ""
            print(f"  {kind}: {', '.join(ids[:_LISTED_IDS])}{more}")
    return 0
