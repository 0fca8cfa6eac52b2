"""coverage-map: community-support provision against need, and the gaps between them.

The analysis core (this package) never imports dash. Data flows
``files -> ingest -> joins -> metrics -> gaps -> suppress -> outputs``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("coverage-map")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
