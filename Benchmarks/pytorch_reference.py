"""STD-Net and its early-fusion baseline in PyTorch, loading stdnet's model folders.

A reference for checking and timing the Swift engine (Sources/STDNet/Network.swift), not
product code. A model folder contains config.json (the fields of ModelConfiguration) and
model.safetensors with the tensor names documented in Sources/STDNet/ModelWeights.swift.
Convolution weights are stored in PyTorch's (Cout, Cin, kD, kH, kW) order and linear weights as
(out, in), so they load unchanged. Only the names of norm and attention parameters differ from
PyTorch's (see `TORCH_NAMES`). The engine keeps activations channels-last, (N, D, H, W, C); this
script uses PyTorch's (N, C, D, H, W) and converts at its edges.

Subcommands:
  fixtures FOLDER      write a small random model of each architecture, inputs and the outputs
                       of this reference (computed in float64) for the Swift tests
  time MODEL_FOLDER    time one forward pass of one window, printing one line of key=value pairs
"""

import argparse
import json
import math
import pathlib
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

LEAKY_RELU_SLOPE = 0.01  # nn.LeakyReLU's default, as LeakyReLU.defaultSlope in the engine

# Suffixes of stdnet tensor names and the PyTorch module attributes they map to.
TORCH_NAMES = [
    (".scale", ".weight"),
    (".shift", ".bias"),
    (".attention.in_proj.weight", ".attention.in_proj_weight"),
    (".attention.in_proj.bias", ".attention.in_proj_bias"),
]


def torch_name(name):
    """Map a stdnet tensor name to this module's state_dict key."""
    for ours, theirs in TORCH_NAMES:
        if name.endswith(ours):
            return name[: -len(ours)] + theirs
    return name


def stdnet_name(name, norm_names):
    """Map a state_dict key back to the stdnet tensor name. `norm_names` are the names of the norm modules."""
    for ours, theirs in TORCH_NAMES:
        if name.endswith(theirs):
            module = name[: -len(theirs)]
            if theirs in (".weight", ".bias") and module not in norm_names:
                continue
            return module + ours
    return name


class ResidualStage(nn.Module):
    """conv3 (stride 2 after the first stage) -> norm -> LeakyReLU -> conv3 -> norm, plus a 1x1x1
    projection of the input, then LeakyReLU."""

    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv1 = nn.Conv3d(inputs, outputs, 3, stride=stride, padding=1)
        self.norm1 = nn.InstanceNorm3d(outputs, affine=True)
        self.conv2 = nn.Conv3d(outputs, outputs, 3, stride=1, padding=1)
        self.norm2 = nn.InstanceNorm3d(outputs, affine=True)
        self.skip = nn.Conv3d(inputs, outputs, 1, stride=stride, padding=0)

    def forward(self, x):
        hidden = F.leaky_relu(self.norm1(self.conv1(x)), LEAKY_RELU_SLOPE)
        hidden = self.norm2(self.conv2(hidden))
        return F.leaky_relu(hidden + self.skip(x), LEAKY_RELU_SLOPE)


class DecoderBlock(nn.Module):
    def __init__(self, inputs, outputs):
        super().__init__()
        self.conv1 = nn.Conv3d(inputs, outputs, 3, padding=1)
        self.norm1 = nn.InstanceNorm3d(outputs, affine=True)
        self.conv2 = nn.Conv3d(outputs, outputs, 3, padding=1)
        self.norm2 = nn.InstanceNorm3d(outputs, affine=True)

    def forward(self, x):
        hidden = F.leaky_relu(self.norm1(self.conv1(x)), LEAKY_RELU_SLOPE)
        return F.leaky_relu(self.norm2(self.conv2(hidden)), LEAKY_RELU_SLOPE)


class MLP(nn.Module):
    def __init__(self, inputs, hidden, outputs):
        super().__init__()
        self.fc1 = nn.Linear(inputs, hidden)
        self.fc2 = nn.Linear(hidden, outputs)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="none"))


class TemporalModule(nn.Module):
    """Phase embedding, one pre-norm transformer encoder layer and attention pooling over the
    present phases, at every location independently."""

    def __init__(self, channels, heads, mlp_ratio, slots):
        super().__init__()
        self.phase_embedding = nn.Parameter(torch.zeros(slots, channels))
        self.attention_norm = nn.LayerNorm(channels)
        self.attention = nn.MultiheadAttention(channels, heads, batch_first=True)
        self.mlp_norm = nn.LayerNorm(channels)
        self.mlp = MLP(channels, mlp_ratio * channels, channels)
        self.pooling_query = nn.Parameter(torch.zeros(channels))

    def forward(self, features, present):
        """features: (T, C, D, H, W) with any values in missing slots; present: bool (T).
        Returns (1, C, D, H, W)."""
        slots, channels, depth, height, width = features.shape
        tokens = features.permute(2, 3, 4, 0, 1).reshape(-1, slots, channels)
        # key_padding_mask is True where a key must be ignored.
        missing = (~present).expand(tokens.shape[0], slots)

        embedded = tokens + self.phase_embedding
        normalized = self.attention_norm(embedded)
        attended, _ = self.attention(normalized, normalized, normalized, key_padding_mask=missing, need_weights=False)
        residual = embedded + attended
        encoded = residual + self.mlp(self.mlp_norm(residual))

        scores = (encoded @ self.pooling_query) / math.sqrt(channels)
        weights = torch.softmax(scores.masked_fill(missing, float("-inf")), dim=1)
        fused = (weights.unsqueeze(-1) * encoded).sum(dim=1)
        return fused.reshape(depth, height, width, channels).permute(3, 0, 1, 2).unsqueeze(0)


class Characterisation(nn.Module):
    def __init__(self, pooled, hidden, classes):
        super().__init__()
        self.fc1 = nn.Linear(pooled, hidden)
        self.fc2 = nn.Linear(hidden, classes)


class STDNet(nn.Module):
    """Both architectures of ModelConfiguration: "std-net" and "early-fusion"."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.architecture = config["architecture"]
        channels = config["channels"]
        slots = config["phaseSlots"]
        first_inputs = slots if self.architecture == "early-fusion" else 1
        self.encoder = nn.ModuleList(
            ResidualStage(first_inputs if level == 0 else channels[level - 1], width, 1 if level == 0 else 2)
            for level, width in enumerate(channels))
        if self.architecture == "std-net":
            self.temporal = nn.ModuleList(
                TemporalModule(width, config["heads"], config["mlpRatio"], slots) for width in channels)
        self.decoder = nn.ModuleList(
            DecoderBlock(channels[level + 1] + channels[level], channels[level]) for level in range(len(channels) - 1))
        self.head = nn.Conv3d(channels[0], config["segmentationClasses"], 1)
        self.characterisation = Characterisation(
            channels[0] + channels[1], config["characterisationHidden"], len(config["lesionClasses"]))

    def encode(self, x):
        features = []
        for stage in self.encoder:
            x = stage(x)
            features.append(x)
        return features

    def forward(self, phases):
        """phases: one (D, H, W) tensor per phase slot, None for a missing phase.
        Returns the logits (1, classes, D, H, W) and the fused features of levels 0 and 1."""
        present_volumes = [volume for volume in phases if volume is not None]
        if self.architecture == "std-net":
            # The shared encoder runs on the present phases as a batch; missing slots get zeros
            # and are masked in the temporal modules.
            encoded = self.encode(torch.stack(present_volumes).unsqueeze(1))
            present = torch.tensor([volume is not None for volume in phases])
            skips = []
            for level, features in enumerate(encoded):
                slotted = features.new_zeros((len(phases),) + features.shape[1:])
                slotted[present] = features
                skips.append(self.temporal[level](slotted, present))
        else:
            zeros = torch.zeros_like(present_volumes[0])
            skips = self.encode(torch.stack([zeros if volume is None else volume for volume in phases]).unsqueeze(0))

        decoded = skips[-1]
        for level in range(len(skips) - 2, -1, -1):
            upsampled = F.interpolate(decoded, scale_factor=2, mode="trilinear", align_corners=False)
            decoded = self.decoder[level](torch.cat([upsampled, skips[level]], dim=1))
        return self.head(decoded), skips[:2]

    def characterise(self, fused, mask):
        """Lesion class probabilities from the fused features averaged inside `mask`, a bool
        (D, H, W) on the level-0 grid. A level-1 voxel is inside when any of its 8 level-0
        voxels is."""
        coarse = F.max_pool3d(mask.to(fused[0].dtype)[None, None], 2)[0, 0] > 0
        pooled = []
        for features, level_mask in ((fused[0], mask), (fused[1], coarse)):
            inside = features[0][:, level_mask]
            pooled.append(inside.mean(dim=1) if inside.shape[1] > 0 else features.new_zeros(features.shape[1]))
        hidden = F.gelu(self.characterisation.fc1(torch.cat(pooled)), approximate="none")
        return torch.softmax(self.characterisation.fc2(hidden), dim=0)

    def norm_names(self):
        return {name for name, module in self.named_modules() if isinstance(module, (nn.InstanceNorm3d, nn.LayerNorm))}

    def stdnet_tensors(self):
        """Return the parameters as float32 under stdnet's tensor names."""
        norms = self.norm_names()
        return {stdnet_name(name, norms): tensor.detach().float().contiguous() for name, tensor in self.state_dict().items()}


def load_model(folder):
    folder = pathlib.Path(folder)
    config = json.loads((folder / "config.json").read_text())
    model = STDNet(config)
    tensors = load_file(str(folder / "model.safetensors"))
    # strict: a missing or unexpected name fails here rather than leaving a random weight.
    model.load_state_dict({torch_name(name): tensor for name, tensor in tensors.items()}, strict=True)
    return model.eval()


def save_model(model, folder):
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(model.config, indent=2, sort_keys=True) + "\n")
    save_file(model.stdnet_tensors(), str(folder / "model.safetensors"), metadata={"architecture": model.architecture})


# MARK: fixtures

FIXTURE_EXTENT = (16, 24, 16)  # D, H, W; H differs, so a swap of H with D or W changes the output shape
FIXTURE_CASES = {"all-phases": (True, True, True, True), "no-arterial": (True, False, True, True)}


def small_config(architecture):
    return {
        "architecture": architecture, "channels": [4, 8, 8, 8], "phaseSlots": 4, "heads": 2, "mlpRatio": 2,
        "segmentationClasses": 3, "lesionClasses": ["HCC", "metastasis", "haemangioma", "cyst", "FNH"],
        "characterisationHidden": 8, "spacing": [1.5, 1.5, 2.5],
    }


def randomize(model, generator):
    """Draw every parameter so that each op's parameters change the output. PyTorch's defaults
    leave norm scales at 1 and shifts, attention biases, embeddings and queries at 0."""
    with torch.no_grad():
        for name, tensor in model.named_parameters():
            if name.endswith("phase_embedding") or name.endswith("pooling_query"):
                tensor.copy_(0.5 * torch.randn(tensor.shape, generator=generator))
            elif "norm" in name and name.endswith(".weight"):
                tensor.copy_(1 + 0.2 * torch.randn(tensor.shape, generator=generator))
            elif name.endswith("bias"):
                tensor.copy_(0.1 * torch.randn(tensor.shape, generator=generator))
            if name.startswith("characterisation.") and name.endswith(".weight"):
                # Spread the class probabilities, which are near 1/5 at the default scale.
                tensor.mul_(4)


def channels_last(tensor):
    """(1, C, D, H, W) -> (1, D, H, W, C), the engine's layout."""
    return tensor.permute(0, 2, 3, 4, 1).contiguous()


def write_fixtures(folder):
    folder = pathlib.Path(folder)
    generator = torch.Generator().manual_seed(20261204)
    depth, height, width = FIXTURE_EXTENT
    phases = torch.randn((4, depth, height, width), generator=generator)
    grid = torch.stack(torch.meshgrid(*(torch.arange(n, dtype=torch.float32) for n in FIXTURE_EXTENT), indexing="ij"))
    radii = torch.tensor([4.0, 5.0, 6.0]).view(3, 1, 1, 1)
    centre = torch.tensor([7.0, 11.0, 9.0]).view(3, 1, 1, 1)
    lesion = (((grid - centre) / radii) ** 2).sum(dim=0) <= 1

    fixtures = {"phases": phases, "lesion_mask": lesion.float()}
    for architecture in ("std-net", "early-fusion"):
        torch.manual_seed(7)
        model = STDNet(small_config(architecture))
        randomize(model, generator)
        save_model(model, folder / architecture)
        # Reload what was written, so the reference runs on exactly the stored float32 weights.
        model = load_model(folder / architecture)
        reference = load_model(folder / architecture).double()
        for case, present in FIXTURE_CASES.items():
            with torch.no_grad():
                inputs = [phases[slot].double() if flag else None for slot, flag in enumerate(present)]
                logits, fused = reference(inputs)
                probabilities = reference.characterise(fused, lesion)
                single_logits, single_fused = model([volume.float() if volume is not None else None for volume in inputs])
                single_probabilities = model.characterise(single_fused, lesion)
            fixtures[f"{architecture}.{case}.logits"] = channels_last(logits).float()
            fixtures[f"{architecture}.{case}.probabilities"] = probabilities.float()
            logits_error = ((single_logits.double() - logits).abs().max() / logits.abs().max()).item()
            probabilities_error = (single_probabilities.double() - probabilities).abs().max().item()
            print(f"{architecture} {case}: PyTorch float32 against float64: logits {logits_error:.2e} "
                  f"(max |a-b| / max |b|), probabilities {probabilities_error:.2e} (max |a-b|)")
    save_file({name: tensor.contiguous() for name, tensor in fixtures.items()}, str(folder / "cases.safetensors"),
              metadata={"torch": torch.__version__, "extent": "x".join(map(str, FIXTURE_EXTENT))})
    print(f"wrote {folder} with torch {torch.__version__}")


# MARK: timing

def peak_rss_megabytes():
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_window(folder, extent, runs, threads):
    torch.set_num_threads(threads)
    model = load_model(folder)
    generator = torch.Generator().manual_seed(1)
    phases = [torch.randn(extent, generator=generator) for _ in range(model.config["phaseSlots"])]
    times = []
    with torch.inference_mode():
        for run in range(runs + 1):
            start = time.perf_counter()
            logits, _ = model(phases)
            elapsed = time.perf_counter() - start
            if run > 0:  # the first run is a warm-up
                times.append(elapsed)
    print(f"engine=pytorch torch={torch.__version__} architecture={model.architecture} threads={threads} "
          f"extent={'x'.join(map(str, extent))} runs={runs} median_ms={statistics.median(times) * 1000:.0f} "
          f"min_ms={min(times) * 1000:.0f} peak_rss_mb={peak_rss_megabytes():.0f} "
          f"logits_mean={logits.mean().item():.6f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    fixtures = commands.add_parser("fixtures", help="write the small model, inputs and reference outputs")
    fixtures.add_argument("folder", help="output folder, e.g. Tests/STDNetTests/Fixtures/pytorch")
    timing = commands.add_parser("time", help="time one window's forward pass")
    timing.add_argument("model", help="model folder with config.json and model.safetensors")
    timing.add_argument("--extent", type=int, nargs=3, default=[64, 128, 128], metavar=("D", "H", "W"),
                        help="window extent in voxels (default: 64 128 128)")
    timing.add_argument("--runs", type=int, default=3, help="timed runs after one warm-up run (default: 3)")
    timing.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default: 2)")
    arguments = parser.parse_args()
    if arguments.command == "fixtures":
        write_fixtures(arguments.folder)
    else:
        time_window(arguments.model, tuple(arguments.extent), arguments.runs, arguments.threads)


if __name__ == "__main__":
    sys.exit(main())
