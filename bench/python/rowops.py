"""Reporting-only peer timings for bench/rowops.ts: the same row ops in JAX (CPU) and PyTorch (CPU)
when installed, with the result brought to a NumPy array each call (as tenfold's `dataSync()` and
tfjs's `dataSync()` bring theirs to a JS array). Prints a markdown table: wall median / fastest
and process CPU time (all threads) median / least, ms per call.

    /work/venv/bin/python bench/python/rowops.py

Never required: tests and CI do not need Python.
"""
import os
import statistics
import time

import numpy as np

R, C = 4096, 1024


def rnd(n):
    return (np.sin(np.arange(n, dtype=np.float64) * 12.9898) * 0.5).astype(np.float32)


def measure(fn, n=21):
    for _ in range(3):
        fn()
    wall, cpu = [], []
    for _ in range(n):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return f"{statistics.median(wall):.2f} / {min(wall):.2f} | {statistics.median(cpu):.2f} / {min(cpu):.2f}"


def cases(x, x1023):
    return {"softmax 4096x1024": x, "logSoftmax 4096x1024": x, "logsumexp 4096x1024": x, "layerNorm 4096x1024": x, "softmax 4096x1023": x1023}


def main():
    x = rnd(R * C).reshape(R, C)
    x1023 = rnd(R * C)[: R * (C - 1)].reshape(R, C - 1)
    rows = {k: {} for k in cases(x, x1023)}
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_platforms", "cpu")

        def ln(v):
            m = jnp.mean(v, -1, keepdims=True)
            return (v - m) * jax.lax.rsqrt(jnp.var(v, -1, keepdims=True) + 1e-5)

        fns = {
            "softmax": jax.jit(lambda v: jax.nn.softmax(v, -1)),
            "logSoftmax": jax.jit(lambda v: jax.nn.log_softmax(v, -1)),
            "logsumexp": jax.jit(lambda v: jax.nn.logsumexp(v, -1)),
            "layerNorm": jax.jit(ln),
        }
        for name, v in cases(x, x1023).items():
            a = jnp.asarray(v)
            f = fns[name.split(" ")[0]]
            rows[name]["jax"] = measure(lambda: np.asarray(f(a)))
        ver = f"JAX {jax.__version__}"
    except ImportError:
        ver = "JAX not installed"
    try:
        import torch

        tfns = {
            "softmax": lambda v: torch.softmax(v, -1),
            "logSoftmax": lambda v: torch.log_softmax(v, -1),
            "logsumexp": lambda v: torch.logsumexp(v, -1),
            "layerNorm": lambda v: torch.nn.functional.layer_norm(v, (v.shape[-1],)),
        }
        for name, v in cases(x, x1023).items():
            a = torch.from_numpy(v)
            f = tfns[name.split(" ")[0]]
            rows[name]["torch"] = measure(lambda: f(a).numpy())
        ver += f", PyTorch {torch.__version__}"
    except ImportError:
        ver += ", PyTorch not installed"
    print("| case | JAX CPU wall median / fastest | JAX CPU time median / least | PyTorch wall median / fastest | PyTorch CPU time median / least |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r.get('jax', 'n/a | n/a')} | {r.get('torch', 'n/a | n/a')} |")
    print(f"\n{ver}; load average {os.getloadavg()[0]:.1f}; ms per call")


if __name__ == "__main__":
    main()
