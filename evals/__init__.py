"""Answer-quality evaluation: test-set schema, runner, metrics, report, gates, export.

Importing this package is cheap: the assistant (model, index) is loaded only
when a run starts.
"""

from __future__ import annotations


def run_command(*args, **kwargs) -> int:
    from .cli import run_command as _run

    return _run(*args, **kwargs)


def export_command(*args, **kwargs) -> int:
    from .cli import export_command as _export

    return _export(*args, **kwargs)


def cli_main(argv=None) -> int:
    from .cli import cli_main as _main

    return _main(argv)


__all__ = ["cli_main", "export_command", "run_command"]
