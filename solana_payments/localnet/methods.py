"""Every JSON-RPC method of the local node: the core ones of rpc.py plus the groups kept in their own modules
(block history, the cluster, account scans)."""

from __future__ import annotations

from .blocks import BlockMethods
from .cluster import ClusterMethods
from .ledger import Ledger
from .rpc import RpcHandlers
from .scans import ScanMethods


def node_handlers(ledger: Ledger) -> RpcHandlers:
    handlers = RpcHandlers(ledger)
    handlers.cluster = ClusterMethods(handlers)
    handlers.blocks = BlockMethods(handlers)
    for group in (handlers.cluster, handlers.blocks, ScanMethods(handlers)):
        handlers.methods.update(group.methods())
    return handlers
