#!/usr/bin/env python3
"""Independent check of ntkgen's network-mode KARE gradient by automatic differentiation.

ntkgen computes dKARE/dtheta for every weight and bias of the network whose empirical NTK
ntk_kernel(width = w) computes, by hand-written reverse mode through the factorised kernel
(src/kare_train.c, ntk_kare_network()).  This script rebuilds the same network in PyTorch
from the same weights, forms the empirical NTK from the explicit Jacobian (J J', fine for a
small n), computes KARE with the intercept projected out exactly as ntkgen does
(K_P = Q2' K Q2, KARE = n |A_P Q2'y|^2 / (tr A_P)^2, A_P = (K_P / n + z I)^-1) and
differentiates it twice-through with autograd (create_graph = True); it then compares the
kernel, KARE and the gradient with ntkgen's.

Not a CI dependency.  Needs python3-torch (Debian) and R with ntkgen installed:
    NTKGEN_LIB=/path/to/lib /usr/bin/python3 inst/scripts/kare_torch_check.py \
        [n p width depth sigma_b]
(Debian's /usr/bin/python3, which sees python3-torch, rather than another python3 on PATH.)
The R side (run by this script through Rscript) draws X, y and the weights with
set.seed(1), and writes them with ntkgen's kernel and gradient into a temporary folder.
Exit status 0 when every relative error is below 1e-8.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

R_CODE = r"""
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]; n <- as.integer(args[2]); p <- as.integer(args[3])
w <- as.integer(args[4]); L <- as.integer(args[5]); sb <- as.numeric(args[6])
lib <- Sys.getenv("NTKGEN_LIB")
if (nzchar(lib)) library(ntkgen, lib.loc = lib) else library(ntkgen)
ns <- asNamespace("ntkgen")
set.seed(1)
X <- matrix(rnorm(n * p), n, p)
y <- rnorm(n)
wt <- ns$ntk_weights(p, w, L)$flat
sw <- sqrt(2); z <- 0.1
r <- .Call(ns$C_kare_network, X, wt, L, w, sw, sb, y, matrix(1, n, 1), z, 1L, TRUE)
K <- .Call(ns$C_kare_network_kernel, X, NULL, wt, L, w, sw, sb, 1L)
write.table(X, file.path(out, "X.txt"), row.names = FALSE, col.names = FALSE)
writeLines(format(y, digits = 17), file.path(out, "y.txt"))
writeLines(format(wt, digits = 17), file.path(out, "weights.txt"))
writeLines(format(r$grad, digits = 17), file.path(out, "grad.txt"))
write.table(format(K, digits = 17), file.path(out, "K.txt"), row.names = FALSE,
            col.names = FALSE, quote = FALSE)
writeLines(format(c(r$kare, sw, sb, z), digits = 17), file.path(out, "scalars.txt"))
"""


def unpack(flat, p, w, L):
    """The layout of ntk_weights_length(): W1 (w x p, column-major), b1, then W_l (w x w),
    b_l for l = 2..L, then v (w), c (1)."""
    params, off = [], 0
    for l in range(L):
        fan = p if l == 0 else w
        W = flat[off:off + w * fan].reshape((fan, w)).T  # column-major w x fan
        off += w * fan
        b = flat[off:off + w]
        off += w
        params += [W, b]
    params += [flat[off:off + w], flat[off + w:off + w + 1]]
    return [torch.tensor(np.ascontiguousarray(a), requires_grad=True) for a in params]


def network(X, params, L, sw, sb):
    p, w = X.shape[1], params[0].shape[0]
    a, fan = X, p
    for l in range(L):
        W, b = params[2 * l], params[2 * l + 1]
        a = torch.relu(sw * a @ W.T / fan ** 0.5 + sb * b)
        fan = w
    v, c = params[2 * L], params[2 * L + 1]
    return sw * a @ v / w ** 0.5 + sb * c


def main():
    n, p, w, L, sb = 25, 6, 16, 2, 0.3
    if len(sys.argv) >= 6:
        n, p, w, L = (int(v) for v in sys.argv[1:5])
        sb = float(sys.argv[5])
    with tempfile.TemporaryDirectory() as d:
        rfile = os.path.join(d, "make.R")
        with open(rfile, "w") as f:
            f.write(R_CODE)
        subprocess.run(["Rscript", rfile, d, str(n), str(p), str(w), str(L), str(sb)],
                       check=True)
        X = torch.tensor(np.loadtxt(os.path.join(d, "X.txt")).reshape(n, p))
        y = torch.tensor(np.loadtxt(os.path.join(d, "y.txt")))
        flat = np.loadtxt(os.path.join(d, "weights.txt"))
        grad_r = np.loadtxt(os.path.join(d, "grad.txt"))
        K_r = np.loadtxt(os.path.join(d, "K.txt"))
        kare_r, sw, sb, z = np.loadtxt(os.path.join(d, "scalars.txt"))
    params = unpack(flat, p, w, L)
    f = network(X, params, L, sw, sb)
    # explicit Jacobian, rows kept in the graph for the second differentiation
    rows = []
    for i in range(n):
        gi = torch.autograd.grad(f[i], params, create_graph=True)
        rows.append(torch.cat([g.reshape(-1) for g in gi]))
    J = torch.stack(rows)
    K = J @ J.T
    q, _ = np.linalg.qr(np.ones((n, 1)), mode="complete")
    Q2 = torch.tensor(q[:, 1:])
    A = torch.linalg.inv(Q2.T @ K @ Q2 / n + z * torch.eye(n - 1))
    yP = Q2.T @ y
    kare = n * torch.sum((A @ yP) ** 2) / torch.trace(A) ** 2
    # the read-out bias c does not enter the kernel: its gradient is None (0)
    g = torch.autograd.grad(kare, params, allow_unused=True)
    g = [torch.zeros_like(a) if gi is None else gi for gi, a in zip(g, params)]
    # back to ntkgen's flat layout (W column-major)
    parts = []
    for l in range(L):
        parts += [g[2 * l].detach().numpy().T.reshape(-1), g[2 * l + 1].detach().numpy()]
    parts += [g[2 * L].detach().numpy(), g[2 * L + 1].detach().numpy()]
    grad_t = np.concatenate(parts)
    e_k = np.max(np.abs(K.detach().numpy() - K_r)) / np.max(np.abs(K_r))
    e_v = abs(kare.item() - kare_r) / abs(kare_r)
    e_g = np.max(np.abs(grad_t - grad_r)) / np.max(np.abs(grad_t))
    print(f"n = {n}, p = {p}, width = {w}, depth = {L}, sigma_b = {sb}: "
          f"{grad_t.size} parameters")
    print(f"kernel  rel. error {e_k:.2e}")
    print(f"KARE    rel. error {e_v:.2e}  ({kare.item():.10f})")
    print(f"gradient rel. error {e_g:.2e} (max |torch - ntkgen| / max |torch|)")
    sys.exit(0 if max(e_k, e_v, e_g) < 1e-8 else 1)


if __name__ == "__main__":
    main()
