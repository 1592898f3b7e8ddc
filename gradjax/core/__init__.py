"""The core: pure functions of ``(fn, x, key)`` that know nothing of flax, optax, data or
files — Hessian-trace estimators and their variances, input-gradients, the paper's objectives
as loss factories, saliency maps and adversarial examples. Needs jax and numpy only; the
public names are re-exported by :mod:`gradjax`."""
