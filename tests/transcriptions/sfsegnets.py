"""What the SR paper's public code computes, written out from its forward
for the tests to compare with (not shipped; the package never imports it).

Source: lxtGH/SFSegNets (MIT licence), ``network/nn/operators.py`` at
ba475ba (2024-03-12): ``ChannelReasonModule`` (the same at 531067b) and
``ModuleHead``. Each step follows the public forward operation by
operation: a per-channel ``bmm`` for the pooling, ``split`` + ``cat`` for
the nodes, ``Conv1d`` layers for the graph, the node-major ``reshape`` back.
"""
import torch
import torch.nn as nn


class ChannelReason(nn.Module):
    """``ChannelReasonModule(inplanes, planes, node_num)`` with
    ``groups=planes``, the only setting the public code builds."""

    def __init__(self, inplanes, planes, node_num=32):
        super().__init__()
        self.planes, self.node_num = planes, node_num
        self.node_fea = planes // node_num
        self.t = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.p = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.g = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.z = nn.Conv2d(planes, inplanes, 1, groups=planes, bias=False)
        self.gn = nn.GroupNorm(planes, inplanes)
        self.conv_adj = nn.Conv1d(node_num, node_num, 1, bias=False)
        self.bn_adj = nn.BatchNorm1d(node_num)
        self.conv_wg = nn.Conv1d(self.node_fea, self.node_fea, 1, bias=False)
        self.bn_wg = nn.BatchNorm1d(self.node_fea)
        self.relu = nn.ReLU()

    def forward(self, x):
        t, p, g = self.t(x), self.p(x), self.g(x)
        b, c, h, w = t.shape
        # one channel per group: sum over positions of p_c * g_c
        pooled = torch.cat([
            torch.bmm(pc.reshape(b, 1, h * w), gc.reshape(b, h * w, 1))
            for pc, gc in zip(p.split(1, dim=1), g.split(1, dim=1))
        ],
                           dim=1)  # (b, c, 1)
        z_idt = torch.cat(pooled.split(self.node_num, dim=1), dim=2)
        z = self.relu(self.bn_adj(self.conv_adj(z_idt)))
        z = z + z_idt
        z = z.transpose(1, 2)
        z = self.relu(self.bn_wg(self.conv_wg(z)))
        z = z.transpose(1, 2).reshape(b, -1, 1).unsqueeze(2)
        return self.gn(self.z(z * t)) + x


class ModuleHead(nn.Module):
    """``ModuleHead(in_planes, m_planes, num_classes, module=...)``."""

    def __init__(self, in_planes, m_planes, num_classes, module):
        super().__init__()
        self.module = module
        self.in_module = nn.Conv2d(in_planes, m_planes, 1)
        self.final = nn.Sequential(
            nn.Conv2d(m_planes, m_planes, 3, padding=1),
            nn.BatchNorm2d(m_planes), nn.ReLU(), nn.Dropout2d(0.1),
            nn.Conv2d(m_planes, num_classes, 1))

    def forward(self, x):
        return self.final(self.module(self.in_module(x)))


def copy_block_weights(public: ChannelReason, block: nn.Module) -> None:
    """Copy ``public``'s weights into an mmctx ``SRBlock`` built with
    ``public_code_cfg``, by role."""
    roles = {
        block.reduce.conv.weight: public.t.weight,
        block.ghp_projs[0].conv.weight: public.p.weight,
        block.ghp_projs[1].conv.weight: public.g.weight,
        block.out_proj.conv.weight: public.z.weight,
        block.out_proj.gn.weight: public.gn.weight,
        block.out_proj.gn.bias: public.gn.bias,
        block.reasoning.adjacency.weight: public.conv_adj.weight[..., 0],
        block.reasoning.state_update.weight: public.conv_wg.weight[..., 0],
    }
    with torch.no_grad():
        for ours, theirs in roles.items():
            ours.copy_(theirs)
        for ours, theirs in ((block.reasoning.adjacency_norm, public.bn_adj),
                             (block.reasoning.state_norm, public.bn_wg)):
            ours.load_state_dict(theirs.state_dict())
