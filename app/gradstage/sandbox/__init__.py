"""Running untrusted programs: warm fork servers in bubblewrap, locked-down children."""

from gradstage.sandbox.pool import SandboxPool, SandboxUnavailable

__all__ = ["SandboxPool", "SandboxUnavailable"]
