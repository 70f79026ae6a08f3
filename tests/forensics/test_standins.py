"""Forensics never writes the user's tensors: a graph the user still holds survives it.

heldout15's GAN made `fake = G(z)` before the critic's optimizer step (where forensics runs)
and back-propagated it after: the sample search re-initialised G in place and copied its
weights back, which bumped their version counters, and the user's `loss_g.backward()` raised
"modified by an inplace operation". Its replay had also run backward into the graph of the
previous step's `fake`, already freed ("backward through the graph a second time").
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from nansentry import Guard
from nansentry.forensics.samples import _fresh_parameters
from nansentry.forensics.standins import stand_ins, substitute


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 1))


def test_stand_ins_leave_the_users_tensors_and_their_versions_alone() -> None:
    net = _net()
    users = [*net.parameters(), *net.buffers()]
    loose = nn.Parameter(torch.ones(()))  # in no module: reached through `substitute`
    y = net(torch.randn(5, 4)).sum() * loose  # a graph that saved the weights
    before = [(t, t._version, t.detach().clone()) for t in users]
    with stand_ins([net], [(net[0].weight, torch.zeros(8, 4)), (loose, torch.full((), 3.0))]) as made:
        assert net[0].weight is not before[0][0] and bool((net[0].weight == 0).all())
        assert isinstance(net[0].weight, nn.Parameter) and net[0].weight.requires_grad
        assert float(substitute(loose).detach()) == 3.0 and substitute(net[0].bias) is net[0].bias is made[id(before[1][0])]
        with torch.no_grad():
            for t in net.parameters():
                t.mul_(2)
        net(torch.randn(5, 4))  # BatchNorm updates its running statistics: on the stand-ins
    assert substitute(loose) is loose
    for t, version, value in before:
        assert t._version == version and torch.equal(t.detach(), value)
    assert [*net.parameters(), *net.buffers()] == users  # the same objects, back in their slots
    y.backward()  # the user's graph still back-propagates


def test_fresh_parameters_keep_a_live_graph_usable() -> None:
    net = _net()
    y = net(torch.randn(5, 4)).sum()
    with _fresh_parameters([net], seed=1):
        net(torch.randn(5, 4))
    y.backward()
    assert all(p.grad is not None for p in net.parameters())


def test_gan_step_with_a_degenerate_sample_is_investigated_and_the_run_goes_on() -> None:
    """Two optimizers, the generator's output made before the critic's step and reused after it;
    one row has a zero under `log`: forensics finds it, and the user's loop never breaks."""
    torch.manual_seed(0)
    rows = torch.rand(64, 3) + 0.5
    rows[37, 1] = 0.0  # a zero length
    G = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3), nn.Softplus())
    D = nn.Sequential(nn.Linear(3, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))

    class Critic(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = D

        def forward(self, r: torch.Tensor) -> torch.Tensor:
            return self.net(torch.cat([r[:, :1], torch.log(r[:, 1:2]), r[:, 2:]], 1)).squeeze(-1)

    C = Critic()
    opt_d = torch.optim.Adam(C.parameters(), lr=1e-3)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(rows), batch_size=16, shuffle=True)
    with Guard(None, [opt_d, opt_g], recover="skip") as guard:
        for _ in range(3):
            for (real,) in loader:
                fake = G(torch.randn(real.shape[0], 4))
                opt_d.zero_grad()
                d_real, d_fake = C(real), C(fake.detach())
                loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                          + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
                loss_d.backward()
                opt_d.step()
                opt_g.zero_grad()
                d_gen = C(fake)
                F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen)).backward()
                opt_g.step()
    report = guard.report
    assert report is not None and report["diagnosis"]["root_cause"] == "log_of_zero", report
    assert report["bad_samples"] == [37]
    assert all(torch.isfinite(p).all() for p in [*G.parameters(), *C.parameters()])
