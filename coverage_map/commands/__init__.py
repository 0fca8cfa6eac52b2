"""Sub-commands of the ``coverage-map`` command line that live outside :mod:`coverage_map.cli`.

Each module here defines ``add_command(commands)``, which adds its sub-parser (with a ``handler``
default) to the parser's sub-commands; :func:`coverage_map.cli.build_parser` calls it. The modules
reuse :mod:`coverage_map.cli`'s shared helpers (inputs, method options, error reporting), so they
import it lazily inside their handlers or at module level, never the other way round.
"""
