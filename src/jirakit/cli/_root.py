"""The root command group: help without type tags, and every error on one line.

Typer (0.29) draws a type tag beside every parameter in ``--help`` (``--plain <bool>``,
``--project <str>``). Here flags show nothing, options show a placeholder named for their
value (``--project PROJECT``, argparse's convention, or the ``metavar`` a command gives),
and arguments show only their name. The placeholders are click's own ``metavar``
attribute, set once on the built command tree before it runs.

Errors: a `JiraError` prints ``error: <Jira's words>`` and exits 1; a usage error (bad
or missing option, unknown profile, missing credentials) prints ``error: <what to fix>``
and exits 2. One line each, no traceback, no usage box: both land in scripts' logs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import typer

# typer 0.29 vendors click as ``typer._click`` and re-exports only part of it; its
# Context and exception classes are these (the separately installed click's are not).
from typer._click import Command, Context
from typer._click.exceptions import ClickException, UsageError
from typer.core import TyperArgument, TyperGroup, TyperOption

from jirakit.errors import JiraError


class _NamedArgument(TyperArgument):
    """An argument shown by its name alone (no ``<str>`` type column)."""

    def display_type_rich(self, ctx: Context) -> str | None:
        return None


def _commands(command: Command) -> Iterator[Command]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _commands(sub)


def tidy_help(root: Command) -> None:
    """Set placeholders in place of type tags on every parameter of the tree."""
    for command in _commands(root):
        ctx = Context(command)  # get_params also builds (and caches) --help
        for param in command.get_params(ctx):
            if isinstance(param, TyperOption):
                if param.is_flag or param.count:
                    param.metavar = ""
                elif param.metavar is None:
                    longest = max(param.opts, key=len).lstrip("-")
                    param.metavar = longest.replace("-", "_").upper() or "VALUE"
            elif isinstance(param, TyperArgument):
                if param.metavar is None:
                    param.metavar = (param.name or "value").upper()
                param.__class__ = _NamedArgument


def error_line(message: str, code: int) -> typer.Exit:
    """Print ``error: message`` on stderr; the exit to raise with ``code``."""
    text = " ".join(message.split())  # one line, whatever the message holds
    typer.echo(f"{typer.style('error:', fg='red')} {text}", err=True)  # no color off a tty
    return typer.Exit(code)


class JirakitGroup(TyperGroup):
    """The ``jirakit`` group: tidies help, turns errors into one line. Called with
    ``standalone_mode=False`` (click's "let me handle it") errors reach the caller as is."""

    standalone = True

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        tidy_help(self)
        self.standalone = standalone_mode
        return super().main(
            args=args,
            prog_name=prog_name,
            complete_var=complete_var,
            standalone_mode=standalone_mode,
            windows_expand_args=windows_expand_args,
            **extra,
        )

    def invoke(self, ctx: Context) -> Any:
        if not self.standalone:
            return super().invoke(ctx)
        try:
            return super().invoke(ctx)
        except JiraError as exc:
            raise error_line(str(exc), 1) from None
        except UsageError as exc:
            hint = ""
            if exc.ctx is not None and exc.ctx.command.get_help_option(exc.ctx) is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            raise error_line(exc.format_message() + hint, exc.exit_code) from None
        except ClickException as exc:
            raise error_line(exc.format_message(), exc.exit_code) from None
