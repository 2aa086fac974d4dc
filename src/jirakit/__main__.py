"""``python -m jirakit`` is the ``jirakit`` command."""

from jirakit.cli import main

main()
