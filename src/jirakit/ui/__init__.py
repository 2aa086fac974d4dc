"""The web dashboard: project health, syncs and schema drift, server-rendered.

`create_app` builds the ASGI app from `providers.Providers`; `jirakit dashboard` serves
it over one warehouse (`warehouse.WarehouseSource`), and `jirakit serve` mounts it at
``/ui`` with the service's providers. See docs/dashboard.md.
"""

from __future__ import annotations

from jirakit.ui.access import LOOPBACK_HOSTS, OpenAccess, SessionStore, TokenAccess
from jirakit.ui.app import UiSettings, create_app
from jirakit.ui.providers import Providers, Viewer
from jirakit.ui.warehouse import WarehouseSource

__all__ = [
    "LOOPBACK_HOSTS",
    "OpenAccess",
    "Providers",
    "SessionStore",
    "TokenAccess",
    "UiSettings",
    "Viewer",
    "WarehouseSource",
    "create_app",
]
