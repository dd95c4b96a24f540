"""The exceptions deepref's library modules raise for failures a user must read.

Each carries a one-line message (never a secret) and the exit code a command ends
with; deepref.cli turns them into that line and exit, the web layer into a page.
Library modules raise these and never import click.
"""

from __future__ import annotations


class DeeprefError(Exception):
    """A failure to report as one line: the message, and exit code 1."""

    exit_code = 1

    @property
    def message(self) -> str:
        return str(self)


class UsageError(DeeprefError):
    """The user asked for something that cannot be (a bad argument): exit 2."""

    exit_code = 2
