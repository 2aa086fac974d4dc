"""Test kit for jirakit users: a pytest plugin (entry point ``pytest11``)."""
