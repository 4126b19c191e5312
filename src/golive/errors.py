"""Exceptions that carry a documented exit code and a hint.

Library code raises these; only the CLI entry point turns them into output and an exit status.
"""

from __future__ import annotations

from enum import IntEnum
from typing import IO

import click


class ExitCode(IntEnum):
    OK = 0
    FAILED_HOSTS = 1
    USAGE = 2
    UNREACHABLE = 3
    SETUP = 4
    INVALID_INPUT = 5
    CANCELED = 6
    INTERRUPTED = 130


EXIT_CODE_HELP = {
    ExitCode.OK: "ok",
    ExitCode.FAILED_HOSTS: "the run finished with failed hosts",
    ExitCode.USAGE: "usage error (unknown option, bad argument)",
    ExitCode.UNREACHABLE: "one or more hosts were unreachable",
    ExitCode.SETUP: ("setup problem: podman, debootstrap, ansible or a collection missing, or "
                     "golive's own playbooks incomplete"),
    ExitCode.INVALID_INPUT: "invalid inventory, variables or playbook",
    ExitCode.CANCELED: "timed out or canceled",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}


class GoliveError(click.ClickException):
    """An error with an exit code from ExitCode and an optional hint for the next step."""

    exit_code = int(ExitCode.FAILED_HOSTS)

    def __init__(self, message: str, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.hint = hint
        if exit_code is not None:
            self.exit_code = int(exit_code)

    def show(self, file: IO[str] | None = None) -> None:
        click.echo(f"Error: {self.format_message()}", file=file, err=file is None)
        if self.hint:
            click.echo(f"Hint: {self.hint}", file=file, err=file is None)

    def as_dict(self) -> dict:
        return {"status": "error", "rc": self.exit_code, "error": self.format_message(),
                "hint": self.hint}


class SetupError(GoliveError):
    exit_code = int(ExitCode.SETUP)


class InvalidInput(GoliveError):
    exit_code = int(ExitCode.INVALID_INPUT)


class RunFailed(GoliveError):
    """A playbook run ended unsuccessfully; exit_code tells how (1, 3, 5, 6 or 130)."""
