"""Reporting-only peer timings: the workloads of `npm run bench` in PyTorch (CPU) and JAX (CPU).

Run it beside `npm run bench` on the same machine to compare with native engines:

    python3 bench/python/peers.py            # whatever of torch / jax is installed
    BENCH_QUICK=1 python3 bench/python/peers.py

Never required: tests and CI do not need Python. Inputs follow bench/run.ts (sin-based values);
the MLP epoch uses synthetic 784-pixel inputs and one-hot labels (timing does not depend on the
digits). Prints median milliseconds per case.
"""
import math
from functools import partial
import os
import statistics
import time

import numpy as np

QUICK = os.environ.get("BENCH_QUICK") == "1"


def rnd(n):
    return (np.sin(np.arange(n, dtype=np.float64) * 12.9898) * 0.5).astype(np.float32)


def timeit(fn, budget_s=0.2 if QUICK else 1.0):
    fn()
    ts = []
    start = time.perf_counter()
    while len(ts) < 3 or (time.perf_counter() - start < budget_s and len(ts) < 50):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e3


def cases():
    N = 8 if QUICK else 64
    return {
        "matmul 512": (rnd(512 * 512).reshape(512, 512), rnd(512 * 512)[::-1].copy().reshape(512, 512)),
        "softmax last axis 4096x1024": rnd(4096 * 1024).reshape(4096, 1024),
        "conv": (rnd(N * 32 * 28 * 28).reshape(N, 32, 28, 28), rnd(64 * 32 * 9).reshape(64, 32, 3, 3)),
        "N": N,
    }


# The MLP epoch's batches: as bench/mlp.ts (8,064 images, or 2,048 with BENCH_QUICK).
MLP_BATCHES = 16 if QUICK else 63
MLP_CASE = f"MNIST MLP 784-128-10 Adam, 1 epoch ({MLP_BATCHES} batches of 128)"


def mlp_data(n_batches=MLP_BATCHES, B=128):
    x = rnd(n_batches * B * 784).reshape(n_batches, B, 784) + 0.5
    labels = (np.arange(n_batches * B) * 7) % 10
    y = np.eye(10, dtype=np.float32)[labels].reshape(n_batches, B, 10)
    return x, y


def init(k, shape):
    i = np.arange(shape[0] * (shape[1] if len(shape) > 1 else 1), dtype=np.float64) + 1
    return (np.sin(i * 78.233 * k) * math.sqrt(2 / shape[0])).astype(np.float32).reshape(shape)


def bench_torch(results):
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(os.cpu_count() or 1)
    c = cases()
    a, b = (torch.from_numpy(v) for v in c["matmul 512"])
    results.setdefault("matmul 512", {})["torch"] = timeit(lambda: torch.matmul(a, b))
    x = torch.from_numpy(c["softmax last axis 4096x1024"])
    results.setdefault("softmax last axis 4096x1024", {})["torch"] = timeit(lambda: torch.softmax(x, -1))
    cx, cw = (torch.from_numpy(v) for v in c["conv"])
    name = f"conv2d 3x3 SAME {c['N']}x32x28x28->64 fwd"
    results.setdefault(name, {})["torch"] = timeit(lambda: torch.nn.functional.conv2d(cx, cw, padding=1))
    cxg, cwg = cx.clone().requires_grad_(), cw.clone().requires_grad_()

    def conv_bwd():
        cxg.grad = None
        cwg.grad = None
        torch.nn.functional.conv2d(cxg, cwg, padding=1).square().sum().backward()

    results.setdefault(name.replace("fwd", "fwd+bwd"), {})["torch"] = timeit(conv_bwd)
    xs, ys = (torch.from_numpy(v) for v in mlp_data())

    def epoch():
        W1 = torch.nn.Parameter(torch.from_numpy(init(1, [784, 128])))
        b1 = torch.nn.Parameter(torch.zeros(128))
        W2 = torch.nn.Parameter(torch.from_numpy(init(2, [128, 10])))
        b2 = torch.nn.Parameter(torch.zeros(10))
        opt = torch.optim.Adam([W1, b1, W2, b2], lr=1e-3)
        for i in range(xs.shape[0]):
            opt.zero_grad()
            lo = torch.relu(xs[i] @ W1 + b1) @ W2 + b2
            loss = -(ys[i] * torch.log_softmax(lo, -1)).sum(-1).mean()
            loss.backward()
            opt.step()
        return W1.detach().numpy()

    results.setdefault(MLP_CASE, {})["torch"] = timeit(epoch)


def bench_jax(results):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return
    c = cases()
    a, b = (jnp.asarray(v) for v in c["matmul 512"])
    mm = jax.jit(jnp.matmul)
    results.setdefault("matmul 512", {})["jax"] = timeit(lambda: mm(a, b).block_until_ready())
    x = jnp.asarray(c["softmax last axis 4096x1024"])
    sm = jax.jit(lambda v: jax.nn.softmax(v, -1))
    results.setdefault("softmax last axis 4096x1024", {})["jax"] = timeit(lambda: sm(x).block_until_ready())
    cx, cw = (jnp.asarray(v) for v in c["conv"])
    conv = lambda v, w: jax.lax.conv_general_dilated(v, w, (1, 1), "SAME")
    name = f"conv2d 3x3 SAME {c['N']}x32x28x28->64 fwd"
    cf = jax.jit(conv)
    results.setdefault(name, {})["jax"] = timeit(lambda: cf(cx, cw).block_until_ready())
    cg = jax.jit(jax.grad(lambda v, w: jnp.sum(jnp.square(conv(v, w))), argnums=(0, 1)))
    results.setdefault(name.replace("fwd", "fwd+bwd"), {})["jax"] = timeit(lambda: jax.block_until_ready(cg(cx, cw)))
    xs, ys = (jnp.asarray(v) for v in mlp_data())

    def loss(p, x, y):
        lo = jnp.maximum(x @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]
        return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(lo, -1), -1))

    # parameters and optimizer state donated, as the tenfold step does (bench/mlp.ts)
    @partial(jax.jit, donate_argnums=(0, 1, 2))
    def step(p, m, v, t, x, y):
        g = jax.grad(loss)(p, x, y)
        m = jax.tree.map(lambda mi, gi: 0.9 * mi + 0.1 * gi, m, g)
        v = jax.tree.map(lambda vi, gi: 0.999 * vi + 0.001 * gi * gi, v, g)
        c1, c2 = 1 - 0.9**t, 1 - 0.999**t
        p = jax.tree.map(lambda pi, mi, vi: pi - 1e-3 * (mi / c1) / (jnp.sqrt(vi / c2) + 1e-8), p, m, v)
        return p, m, v

    def epoch():
        p = {"W1": jnp.asarray(init(1, [784, 128])), "b1": jnp.zeros(128), "W2": jnp.asarray(init(2, [128, 10])), "b2": jnp.zeros(10)}
        m = jax.tree.map(jnp.zeros_like, p)
        v = jax.tree.map(jnp.zeros_like, p)
        for i in range(xs.shape[0]):
            p, m, v = step(p, m, v, i + 1.0, xs[i], ys[i])
        return p["W1"].block_until_ready()

    results.setdefault(MLP_CASE, {})["jax"] = timeit(epoch)


def main():
    results = {}
    bench_torch(results)
    bench_jax(results)
    engines = ["torch", "jax"]
    print("| case | " + " | ".join(engines) + " |\n|---|" + "|".join("---" for _ in engines) + "|")
    for name, ms in results.items():
        print(f"| {name} | " + " | ".join(f"{ms[e]:.2f}" if e in ms else "n/a" for e in engines) + " |")
    print(f"\nmachine: {os.cpu_count()} cpus; ms (median); python peers, reporting only")


if __name__ == "__main__":
    main()
