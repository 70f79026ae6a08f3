"""The always-on PyTorch watcher: hooks, per-step device checks, one sync per step.

Only the adapters (this package, forensics, recover.rollback and safe) import torch.
`nansentry.Guard` is the public entry; modules here are imported directly.
"""
