"""PyTorch reference for proxy training: the E1 proxy network rebuilt layer for layer in
torch.nn, loaded with proxyland's initial weights (safetensors), trained on the very batches
proxyland exported, with the same loss, noise injection, gradient penalty and Adam.

Usage: python proxy_torch.py <case-dir>   (a case exported by `proxyland-bench`)
"""

import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import Checks, load_case, median_seconds, write_result


def read_safetensors(path):
    """name -> tensor, read by hand (the format is an 8-byte length, JSON, then raw data)."""
    with open(path, "rb") as f:
        raw = f.read()
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + length])
    data = raw[8 + length :]
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(array.copy())
    return out


class ProxyNet(nn.Module):
    """Fourier features of u, an encoder of the target trajectory, a SiLU head (model.rs)."""

    def __init__(self, arch):
        super().__init__()
        d, m = arch["params"], arch["fourier_features"]
        # A periodic coordinate enters through its (integer-frequency) Fourier features only.
        self.raw = [j for j in range(d) if not arch["periodic"][j]]
        self.periodic = torch.tensor([1.0 if p else 0.0 for p in arch["periodic"]])
        self.register_buffer("fourier_b", torch.zeros(m, d))
        self.kind = arch.get("encoder", "conv2d")
        self.encoder = nn.ModuleDict()
        widths = arch["encoder_channels"]
        if self.kind in ("conv2d", "periodic-conv"):
            channels = 1
            padding = (1, 0) if self.kind == "periodic-conv" else (1, 1)
            for i, c in enumerate(widths):
                self.encoder[f"conv{i}"] = nn.Conv2d(channels, c, 3, stride=2, padding=padding)
                channels = c
            flat = channels * 16
        elif self.kind == "temporal":
            channels = arch["components"]
            for i, c in enumerate(widths):
                self.encoder[f"conv{i}"] = nn.Conv1d(channels, c, 5, stride=2, padding=2)
                channels = c
            flat = channels * 4
        else:  # mlp
            width = arch["frames"] * arch["components"]
            for i, c in enumerate(widths):
                self.encoder[f"fc{i}"] = nn.Linear(width, c)
                width = c
            flat = width
        self.encoder["out"] = nn.Linear(flat, arch["embedding"])
        self.layers = len(widths)
        width = len(self.raw) + 2 * m + arch["embedding"]
        self.head = nn.ModuleDict()
        for i, h in enumerate(arch["hidden"]):
            self.head[f"fc{i}"] = nn.Linear(width, h)
            width = h
        self.head["out"] = nn.Linear(width, 1)
        self.hidden = len(arch["hidden"])

    def embed(self, targets):
        if self.kind in ("conv2d", "periodic-conv"):
            x = targets.unsqueeze(1)
            for i in range(self.layers):
                if self.kind == "periodic-conv":
                    x = F.pad(x, (1, 1, 0, 0), mode="circular")
                x = F.silu(self.encoder[f"conv{i}"](x))
            x = F.adaptive_avg_pool2d(x, (4, 4)).flatten(1)
        elif self.kind == "temporal":
            x = targets.transpose(1, 2)
            for i in range(self.layers):
                x = F.silu(self.encoder[f"conv{i}"](x))
            x = F.adaptive_avg_pool1d(x, 4).flatten(1)
        else:
            x = targets.flatten(1)
            for i in range(self.layers):
                x = F.silu(self.encoder[f"fc{i}"](x))
        return F.silu(self.encoder["out"](x))

    def forward(self, targets, rows, u):
        e = self.embed(targets).index_select(0, rows)
        proj = u @ self.fourier_b.T * (2 * math.pi)
        x = torch.cat([u[:, self.raw], proj.sin(), proj.cos(), e], 1)
        for i in range(self.hidden):
            x = F.silu(self.head[f"fc{i}"](x))
        return self.head["out"](x).squeeze(1)

    def fold(self, u):
        """Periodic coordinates wrap, the others mirror into [0, 1] (train.rs)."""
        wrapped = u - u.floor()
        mirrored = 1.0 - (torch.remainder(u, 2.0) - 1.0).abs()
        return self.periodic * wrapped + (1.0 - self.periodic) * mirrored


def step(net, opt, batch, noise, penalty):
    targets, rows, u, z = batch
    u_in = net.fold(u + torch.randn_like(u) * noise) if noise > 0 else u
    if penalty > 0:
        u_in = u_in.detach().requires_grad_(True)
    pred = net(targets, rows, u_in)
    loss = F.mse_loss(pred, z)
    if penalty > 0:
        (g,) = torch.autograd.grad(pred.sum(), u_in, create_graph=True)
        loss = loss + penalty * g.pow(2).sum(1).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def main(case_dir):
    case, arrays = load_case(case_dir)
    threads = int(os.environ.get("PROXYLAND_BENCH_THREADS", case["threads"]))
    torch.set_num_threads(threads)
    arch, lr = case["architecture"], case["learning_rate"]
    batches = [
        tuple(
            torch.from_numpy(arrays[f"batch{k:03}_{part}"])
            for part in ("targets", "rows", "u", "z")
        )
        for k in range(case["batches"])
    ]
    init = read_safetensors(os.path.join(case_dir, "init.safetensors"))

    def fresh():
        net = ProxyNet(arch)
        missing = set(net.state_dict()) ^ set(init)
        if missing:
            raise SystemExit(f"error: parameter names differ from proxyland's: {sorted(missing)}")
        net.load_state_dict(init)
        return net, torch.optim.Adam(net.parameters(), lr=lr)

    checks = Checks("torch")
    for (noise, penalty), ours in zip(case["settings"], case["check_losses"]):
        net, opt = fresh()
        losses = [step(net, opt, b, 0.0, penalty) for b in batches[: case["check_steps"]]]
        # float32 training with different reduction orders: agreement to 1e-4 relative.
        checks.relative(f"losses of the first {len(losses)} Adam steps, λ = {penalty}", ours, losses, 1e-4)

    timings = {}
    for key, (noise, penalty) in zip(["epoch", "epoch_penalty"], case["settings"]):
        net, opt = fresh()
        timings[key] = median_seconds(
            lambda: sum(step(net, opt, b, noise, penalty) for b in batches), min_seconds=2.0
        )
    write_result(
        case_dir,
        "torch",
        "PyTorch (eager, CPU, float32)",
        {"torch": torch.__version__, "python": sys.version.split()[0]},
        str(torch.get_num_threads()),
        checks,
        timings,
    )


if __name__ == "__main__":
    main(sys.argv[1])
