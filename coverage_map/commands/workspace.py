"""``coverage-map workspace``: list, add, remove, publish or sync datasets in the shared workspace."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import sync


def open_workspace_of(args: argparse.Namespace):  # returns coverage_map.store.Workspace
    from ..store import open_workspace

    return open_workspace(args.workspace)


def cmd_workspace_list(args: argparse.Namespace) -> int:
    with open_workspace_of(args) as workspace:
        refs = workspace.list(include_private=not args.published)
        if not refs:
            print(f"No datasets in the workspace {workspace.description}.")
            return 0
        print(f"Datasets in the workspace {workspace.description}:")
        syncs: dict[tuple[str, int], dict[str, Any]] = {}  # per version: the sync that made it, the last check
        for record in reversed(workspace.syncs(include_private=not args.published)):
            kinds = syncs.setdefault((record.name, record.version), {})
            kinds["made" if record.kind == "made" else "since"] = record
        for ref in refs:
            state = "published" if ref.published else "private"
            owner = f"session {ref.owner[:8]}" if ref.owner else "workspace"
            rows = ", ".join(f"{source.role} {source.rows:,} ({source.path})" for source in ref.sources)
            print(
                f"  {ref.name}  v{ref.version}  {state:<9}  {ref.created_at:%Y-%m-%d %H:%M} UTC  {owner}  "
                f"{ref.problems:,} rows rejected or repaired; {rows}"
            )
            for record in syncs.get((ref.name, ref.version), {}).values():
                print(f"      {record.summary}")
    return 0


def cmd_workspace_add(args: argparse.Namespace) -> int:
    from ..cli import _report, input_spec

    spec = input_spec(args)
    with open_workspace_of(args) as workspace:
        added = workspace.add(args.name, spec, publish=args.publish)
    _report(added.problems, stream=sys.stderr)
    state = "published" if added.ref.published else "private until `coverage-map workspace publish`"
    print(f"Added {added.ref.label} ({state}) to {workspace.description}.")
    return 0


def cmd_workspace_remove(args: argparse.Namespace) -> int:
    with open_workspace_of(args) as workspace:
        removed = workspace.remove(args.name, args.version)
    which = f"version {args.version} of" if args.version is not None else f"{removed} version(s) of"
    print(f"Removed {which} {args.name} from {workspace.description}.")
    return 0


def cmd_workspace_publish(args: argparse.Namespace) -> int:
    with open_workspace_of(args) as workspace:
        ref = workspace.publish(args.name, args.version)
    print(f"Published {ref.label}: every user of {workspace.description} can now load it.")
    return 0


def add_command(commands: Any) -> None:  # argparse's private _SubParsersAction
    from ..cli import _add_inputs

    workspace = commands.add_parser(
        "workspace", help="list, add, remove, publish or sync datasets in the shared workspace"
    )
    actions = workspace.add_subparsers(dest="workspace_command", required=True)

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help_text)
        parser.add_argument(
            "--workspace",
            metavar="URL_OR_GPKG",
            help="postgresql://... URL or .gpkg file (default: $COVERAGE_MAP_DATABASE_URL, else "
            "workspace.gpkg in $COVERAGE_MAP_DATA_DIR or instance/); prefer the environment "
            "variable for URLs with a password",
        )
        return parser

    listing = action("list", "list every dataset version (private ones too, unless --published)")
    listing.add_argument("--published", action="store_true", help="only the published versions")
    listing.set_defaults(handler=cmd_workspace_list)

    add = action("add", "validate files and store them as the next version of a named dataset")
    add.add_argument("--name", required=True, help="dataset name, e.g. gm-2026")
    add.add_argument("--publish", action="store_true", help="publish at once (default: private until published)")
    _add_inputs(add)
    add.set_defaults(handler=cmd_workspace_add)

    remove = action("remove", "delete a dataset (every version, or --version N)")
    remove.add_argument("name")
    remove.add_argument("--version", type=int, help="only this version")
    remove.set_defaults(handler=cmd_workspace_remove)

    publish = action("publish", "make a dataset version visible to every user (default: the latest)")
    publish.add_argument("name")
    publish.add_argument("--version", type=int, help="this version (default: the latest)")
    publish.set_defaults(handler=cmd_workspace_publish)
    sync.add_arguments(action("sync", "re-pull a live ORUK feed into the next version of a dataset, with what changed"))
