"""How the command line reports a user's mistake: one line on stderr and exit status 2."""

from __future__ import annotations

from laneway.errors import LanewayError

EXIT_USAGE = 2


class CliError(LanewayError):
    """A problem with what the user typed or pointed us at; the message is the whole report."""


class JsonLinesError(CliError):
    """A CliError from `laneway serve --log-format json`: reported as JSON objects, one per
    line of the message, as every other line the server writes."""
