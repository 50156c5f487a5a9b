"""Forward and backward passes of each NeuralEngine op in PyTorch, written as test fixtures.

A reference for checking the Swift engine (Sources/NeuralEngine), not product code. For every op
this script draws small random float32 inputs, parameters and an upstream gradient dL/doutput
from one seeded generator and runs the op in float64 with autograd. One safetensors file stores
the inputs, the output and the gradients with respect to every input and parameter.
Tests/STDNetTests/PyTorchOpTests.swift runs the same ops in the engine and compares.

Tensors are stored in the engine's layouts: volumes channels-last (N, D, H, W, C), token
sequences (B, T, C), convolution weights (Cout, Cin, kD, kH, kW) and linear weights (out, in) as
in PyTorch. Each op permutes to PyTorch's (N, C, D, H, W) inside its function, so autograd
returns the gradients in the engine's layout too. Masks and class labels are stored as float32.

Usage:
  python3 Benchmarks/pytorch_ops.py FILE    e.g. Tests/STDNetTests/Fixtures/pytorch-ops/ops.safetensors
"""

import argparse
import math
import pathlib
import sys

import safetensors
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

SEED = 20261205
LEAKY_RELU_SLOPE = 0.01  # LeakyReLU.defaultSlope in the engine, nn.LeakyReLU's default
NORM_EPSILON = 1e-5  # InstanceNorm.defaultEpsilon and LayerNorm.defaultEpsilon
DICE_SMOOTHING = 1e-5  # DiceLoss.defaultSmoothing
VOLUME = (2, 5, 6, 7)  # N, D, H, W; unequal odd and even extents, so a swapped axis changes the result
# Present tokens of the three sequences that the masked ops see: one full, one with a gap, one
# with two tokens. Attention pooling and masked mean pooling in PyTorch return NaN for a sequence
# with no present token, so only the attention fixture has one.
PRESENT = [[True, True, True, True], [True, False, True, True], [False, True, False, True]]


def channels_first(volume):
    """(N, D, H, W, C) -> (N, C, D, H, W), PyTorch's layout."""
    return volume.permute(0, 4, 1, 2, 3)


def channels_last(volume):
    """(N, C, D, H, W) -> (N, D, H, W, C), the engine's layout."""
    return volume.permute(0, 2, 3, 4, 1)


def convolution(stride, padding):
    def run(input, weight, bias):
        return channels_last(F.conv3d(channels_first(input), weight, bias, stride=stride, padding=padding))
    return run


def upsampling(input):
    # The engine samples output voxel o at (o + 0.5) / 2 - 0.5, which is align_corners=False.
    return channels_last(F.interpolate(channels_first(input), scale_factor=2, mode="trilinear", align_corners=False))


def instance_norm(input, scale, shift):
    return channels_last(F.instance_norm(channels_first(input), weight=scale, bias=shift, eps=NORM_EPSILON))


def leaky_relu(input):
    return F.leaky_relu(input, LEAKY_RELU_SLOPE)


def gelu(input):
    return F.gelu(input, approximate="none")


def linear(input, weight, bias):
    return F.linear(input, weight, bias)


def layer_norm(input, scale, shift):
    return F.layer_norm(input, (input.shape[-1],), scale, shift, NORM_EPSILON)


def attention(heads):
    def run(input, mask, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias):
        # multi_head_attention_forward takes (T, B, C), as nn.MultiheadAttention without
        # batch_first, and a key-padding mask that is True where a key is ignored.
        sequence = input.transpose(0, 1)
        output, _ = F.multi_head_attention_forward(
            sequence, sequence, sequence, input.shape[-1], heads, in_proj_weight, in_proj_bias,
            None, None, False, 0.0, out_proj_weight, out_proj_bias,
            training=True, key_padding_mask=mask < 0.5, need_weights=False)
        return output.transpose(0, 1)
    return run


def temporal_encoder(heads):
    """Return a function that runs the phase embedding, one pre-norm transformer encoder layer and
    attention pooling over the present tokens, as TemporalModule in pytorch_reference.py and
    TemporalEncoder in the engine do."""
    def run(tokens, mask, phase_embedding, attention_norm_scale, attention_norm_shift,
            in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, mlp_norm_scale, mlp_norm_shift,
            mlp_input_weight, mlp_input_bias, mlp_output_weight, mlp_output_bias, pooling_query):
        embedded = tokens + phase_embedding
        normalized = layer_norm(embedded, attention_norm_scale, attention_norm_shift)
        attended = attention(heads)(normalized, mask, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias)
        residual = embedded + attended
        hidden = gelu(linear(layer_norm(residual, mlp_norm_scale, mlp_norm_shift), mlp_input_weight, mlp_input_bias))
        encoded = residual + linear(hidden, mlp_output_weight, mlp_output_bias)
        return attention_pooling(encoded, mask, pooling_query)
    return run


def temporal_volume(heads):
    """Return a function that runs the temporal module at every location of (T, D, H, W, C) phase
    volumes with one present flag per phase slot, as the engine's fused kernel does. The function
    returns (1, D, H, W, C)."""
    def run(phases, present, **parameters):
        slots, depth, height, width, channels = phases.shape
        tokens = phases.permute(1, 2, 3, 0, 4).reshape(-1, slots, channels)
        mask = present.expand(tokens.shape[0], slots)
        fused = temporal_encoder(heads)(tokens, mask, **parameters)
        return fused.reshape(1, depth, height, width, channels)
    return run


def temporal_parameters(normal, channels, hidden, slots):
    """Draw the temporal module's parameters, each far enough from PyTorch's defaults (scales 1,
    shifts, biases, embedding and query 0) to change the output."""
    return {
        "phase_embedding": normal(slots, channels, scale=0.5),
        "attention_norm_scale": normal(channels, scale=0.2, mean=1.0),
        "attention_norm_shift": normal(channels, scale=0.1),
        "in_proj_weight": normal(3 * channels, channels, scale=1 / math.sqrt(channels)),
        "in_proj_bias": normal(3 * channels, scale=0.1),
        "out_proj_weight": normal(channels, channels, scale=1 / math.sqrt(channels)),
        "out_proj_bias": normal(channels, scale=0.1),
        "mlp_norm_scale": normal(channels, scale=0.2, mean=1.0),
        "mlp_norm_shift": normal(channels, scale=0.1),
        "mlp_input_weight": normal(hidden, channels, scale=1 / math.sqrt(channels)),
        "mlp_input_bias": normal(hidden, scale=0.1),
        "mlp_output_weight": normal(channels, hidden, scale=1 / math.sqrt(hidden)),
        "mlp_output_bias": normal(channels, scale=0.1),
        "pooling_query": normal(channels, scale=0.5),
    }


def softmax(input):
    return torch.softmax(input, dim=-1)


def concatenation(first, second):
    return channels_last(torch.cat([channels_first(first), channels_first(second)], dim=1))


def masked_mean_pooling(input, mask):
    weights = mask.unsqueeze(-1)
    return (input * weights).sum(dim=1) / weights.sum(dim=1)


def attention_pooling(input, mask, query):
    scores = (input @ query) / math.sqrt(input.shape[-1])
    weights = torch.softmax(scores.masked_fill(mask < 0.5, float("-inf")), dim=1)
    return (weights.unsqueeze(-1) * input).sum(dim=1)


def dice_loss(probabilities, labels):
    """Compute 1 - mean over all K classes of (2 sum p_k g_k + s) / (sum p_k + sum g_k + s), as
    DiceLoss in the engine. g is the one-hot label, and the sums run over every voxel of every sample."""
    classes = probabilities.shape[-1]
    rows = probabilities.reshape(-1, classes)
    one_hot = F.one_hot(labels.reshape(-1).long(), classes).to(rows.dtype)
    intersection = (rows * one_hot).sum(dim=0)
    dice = (2 * intersection + DICE_SMOOTHING) / (rows.sum(dim=0) + one_hot.sum(dim=0) + DICE_SMOOTHING)
    return (1 - dice.mean()).reshape(1)


def cross_entropy_loss(logits, labels):
    classes = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, classes), labels.reshape(-1).long(), reduction="mean").reshape(1)


class Fixtures:
    """Draws the operands of each op and records its reference results."""

    def __init__(self, seed):
        self.generator = torch.Generator().manual_seed(seed)
        self.tensors = {}
        self.float32_errors = {}

    def normal(self, *shape, scale=1.0, mean=0.0):
        return mean + scale * torch.randn(shape, generator=self.generator, dtype=torch.float32)

    def record(self, op, function, operands, differentiable, is_loss=False):
        """Store `operands`, function(**operands) and the gradients of the names in `differentiable`.

        A loss's gradients are those of the loss itself, as the engine's backward returns them, so
        a loss has no stored output_gradient. Every other op gets a random output_gradient.
        """
        double_leaves = leaves(operands, differentiable, torch.float64)
        output = function(**double_leaves)
        if is_loss:
            upstream = torch.ones(output.shape, dtype=torch.float32)
        else:
            upstream = self.normal(*output.shape)
        output.backward(upstream.double())
        gradients = {name: double_leaves[name].grad for name in differentiable}

        for name, tensor in operands.items():
            self.tensors[f"{op}.{name}"] = tensor
        self.tensors[f"{op}.output"] = output.detach().float()
        if not is_loss:
            self.tensors[f"{op}.output_gradient"] = upstream
        for name, gradient in gradients.items():
            self.tensors[f"{op}.{name}_gradient"] = gradient.float()

        # PyTorch's own float32 result shows how far float32 rounding alone moves each tensor.
        single_leaves = leaves(operands, differentiable, torch.float32)
        single_output = function(**single_leaves)
        single_output.backward(upstream)
        self.float32_errors[f"{op}.output"] = relative_error(single_output.detach(), output.detach())
        for name, gradient in gradients.items():
            self.float32_errors[f"{op}.{name}_gradient"] = relative_error(single_leaves[name].grad, gradient)


def leaves(operands, differentiable, dtype):
    """Return copies of `operands` in `dtype`. Those named in `differentiable` require gradients."""
    return {name: tensor.to(dtype).requires_grad_(name in differentiable) for name, tensor in operands.items()}


def relative_error(produced, expected):
    """Return max |a - b| / max |b|, the measure that the Swift tests use."""
    return ((produced.double() - expected).abs().max() / expected.abs().max()).item()


def mask_tensor():
    return torch.tensor(PRESENT, dtype=torch.float32)


def write_fixtures(path):
    path = pathlib.Path(path)
    fixtures = Fixtures(SEED)
    normal = fixtures.normal
    batch, depth, height, width = VOLUME

    for op, stride, padding, kernel in (("convolution_stride1", 1, 1, 3), ("convolution_stride2", 2, 1, 3),
                                        ("convolution_1x1_stride2", 2, 0, 1)):
        fixtures.record(op, convolution(stride, padding), {
            "input": normal(batch, depth, height, width, 3),
            "weight": normal(4, 3, kernel, kernel, kernel, scale=1 / math.sqrt(3 * kernel ** 3)),
            "bias": normal(4, scale=0.1),
        }, ["input", "weight", "bias"])

    fixtures.record("upsampling", upsampling, {"input": normal(batch, 3, 4, 5, 3)}, ["input"])

    # A mean and scale per channel far from 0 and 1, so that the normalisation has work to do.
    fixtures.record("instance_norm", instance_norm, {
        "input": normal(batch, depth, height, width, 3) * torch.tensor([0.5, 2.0, 3.0]) + torch.tensor([1.0, -2.0, 0.0]),
        "scale": normal(3, scale=0.2, mean=1.0),
        "shift": normal(3, scale=0.1),
    }, ["input", "scale", "shift"])

    fixtures.record("leaky_relu", leaky_relu, {"input": normal(batch, 3, 4, 5, 3)}, ["input"])
    # A wide spread reaches the tails, where the engine's erf is clamped to +-1 beyond |x| = 4.
    fixtures.record("gelu", gelu, {"input": normal(batch, 3, 4, 5, 3, scale=2.5)}, ["input"])

    fixtures.record("linear", linear, {
        "input": normal(batch, 5, 6),
        "weight": normal(4, 6, scale=1 / math.sqrt(6)),
        "bias": normal(4, scale=0.1),
    }, ["input", "weight", "bias"])

    fixtures.record("layer_norm", layer_norm, {
        "input": normal(batch, 5, 6, scale=2.0, mean=0.5),
        "scale": normal(6, scale=0.2, mean=1.0),
        "shift": normal(6, scale=0.1),
    }, ["input", "scale", "shift"])

    # A fourth sequence has no present token. torch 2.15 gives it zero attention weights, so its
    # outputs equal the output projection's bias, as in the engine.
    channels, heads = 8, 2
    fixtures.record("attention", attention(heads), {
        "input": normal(len(PRESENT) + 1, 4, channels),
        "mask": torch.cat([mask_tensor(), torch.zeros(1, 4)]),
        "in_proj_weight": normal(3 * channels, channels, scale=1 / math.sqrt(channels)),
        "in_proj_bias": normal(3 * channels, scale=0.1),
        "out_proj_weight": normal(channels, channels, scale=1 / math.sqrt(channels)),
        "out_proj_bias": normal(channels, scale=0.1),
    }, ["input", "in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias"])

    # The temporal module composes the ops above. The engine runs it twice: generically on token
    # sequences with a mask per sequence, and with a fused kernel on phase volumes with one
    # flag per phase slot.
    slots, hidden = len(PRESENT[0]), 2 * channels
    parameters = temporal_parameters(normal, channels, hidden, slots)
    fixtures.record("temporal_encoder", temporal_encoder(heads), {
        "tokens": normal(len(PRESENT), slots, channels), "mask": mask_tensor(), **parameters,
    }, ["tokens", *parameters])
    parameters = temporal_parameters(normal, channels, hidden, slots)
    fixtures.record("temporal_volume", temporal_volume(heads), {
        "phases": normal(slots, 2, 3, 5, channels), "present": torch.tensor(PRESENT[1], dtype=torch.float32), **parameters,
    }, ["phases", *parameters])

    fixtures.record("softmax", softmax, {"input": normal(batch, 5, 4, scale=2.0)}, ["input"])

    fixtures.record("concatenation", concatenation, {
        "first": normal(batch, 3, 4, 5, 2),
        "second": normal(batch, 3, 4, 5, 3),
    }, ["first", "second"])

    fixtures.record("masked_mean_pooling", masked_mean_pooling, {
        "input": normal(len(PRESENT), 4, 5), "mask": mask_tensor()}, ["input"])

    fixtures.record("attention_pooling", attention_pooling, {
        "input": normal(len(PRESENT), 4, 5), "mask": mask_tensor(), "query": normal(5)}, ["input", "query"])

    # Labels take classes 0 to 2 of 4, so class 3 is absent from the labels but not from the prediction.
    classes = 4
    labels = torch.randint(0, classes - 1, (batch, depth, height, width), generator=fixtures.generator).float()
    fixtures.record("dice_loss", dice_loss, {
        "probabilities": torch.softmax(normal(batch, depth, height, width, classes, scale=2.0), dim=-1),
        "labels": labels,
    }, ["probabilities"], is_loss=True)

    # Class 3 is also nearly absent from the prediction: its probabilities add up to about the
    # smoothing term, so its Dice term and gradient depend on the smoothing.
    logits = normal(batch, depth, height, width, classes, scale=2.0) - torch.tensor([0.0, 0.0, 0.0, 18.0])
    fixtures.record("dice_loss_empty_class", dice_loss, {
        "probabilities": torch.softmax(logits, dim=-1),
        "labels": labels.clone(),
    }, ["probabilities"], is_loss=True)

    fixtures.record("cross_entropy_loss", cross_entropy_loss, {
        "logits": normal(batch, depth, height, width, classes, scale=2.0),
        "labels": torch.randint(0, classes, (batch, depth, height, width), generator=fixtures.generator).float(),
    }, ["logits"], is_loss=True)

    # On AVX-512 the engine runs the temporal module's forward pass on a second fused kernel,
    # which works on groups of 16 locations: here at STD-Net's second level (32 channels, 4 heads)
    # and 42 locations, which end inside a group. Drawn last, so that the tensors above stay as
    # they were.
    channels, heads = 32, 4
    parameters = temporal_parameters(normal, channels, 2 * channels, slots)
    fixtures.record("temporal_volume_wide", temporal_volume(heads), {
        "phases": normal(slots, 2, 3, 7, channels), "present": torch.tensor(PRESENT[1], dtype=torch.float32), **parameters,
    }, ["phases", *parameters])

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({name: tensor.contiguous() for name, tensor in fixtures.tensors.items()}, str(path), metadata={
        "torch": torch.__version__, "safetensors": safetensors.__version__, "seed": str(SEED)})
    width = max(map(len, fixtures.float32_errors))
    print("PyTorch float32 against float64, max |a-b| / max |b|:")
    for name, error in fixtures.float32_errors.items():
        print(f"  {name:<{width}}  {error:.1e}")
    print(f"wrote {len(fixtures.tensors)} tensors to {path} ({path.stat().st_size} bytes) "
          f"with torch {torch.__version__} and safetensors {safetensors.__version__}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", help="output safetensors file, e.g. Tests/STDNetTests/Fixtures/pytorch-ops/ops.safetensors")
    write_fixtures(parser.parse_args().file)


if __name__ == "__main__":
    sys.exit(main())
