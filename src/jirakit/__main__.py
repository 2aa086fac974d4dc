"""``python -m jirakit`` is the ``jirakit`` command."""

from jirakit._entry import main

main()
