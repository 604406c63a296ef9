"""PyTorch's transformer fast paths: a program gets the numbers it gets plainly."""

from __future__ import annotations

from gradstage.tracer import trace_program

from tests.tracer.oracle import run_plainly

PADDED_INFERENCE = """
import torch
model = torch.nn.Transformer(d_model=4, nhead=2, dim_feedforward=8, num_encoder_layers=1,
                             num_decoder_layers=1, dropout=0.0, batch_first=True)
model.eval()
src = torch.randn(2, 3, 4)
tgt = torch.randn(2, 3, 4)
pad = torch.tensor([[False, False, True], [False, False, True]])
with torch.no_grad():
    out = model(src, tgt, src_key_padding_mask=pad, tgt_key_padding_mask=pad)
print(out.sum().item())
"""


def test_a_transformer_evaluated_with_a_padding_mask_gives_pytorchs_output() -> None:
    # Plainly the encoder takes its fast path: padded positions come out as zeros, and the
    # decoder reads them; the slow path would give other numbers everywhere.
    trace = trace_program(PADDED_INFERENCE)
    assert trace.error is None, trace.error
    assert trace.stdout == run_plainly(PADDED_INFERENCE).stdout
