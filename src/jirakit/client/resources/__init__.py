"""Resource namespaces: ``jira.issues``, ``jira.search``, ... (sync and async twins)."""
