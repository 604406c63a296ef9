"""Run a PyTorch program and record what autograd does: the Trace.

Never imports FastAPI; the sandbox runs this in a locked-down worker process.
"""

from gradstage.tracer.program import trace_program

__all__ = ["trace_program"]
