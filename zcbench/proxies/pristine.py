"""A network's freshly built state, kept so that one build serves every proxy of an architecture.

Proxies may modify the network they are given freely: synflow takes |θ|, casts to float64 and replaces
BatchNorm by identities; swap and zen re-initialise it; fisher, nwot and meco install hooks; every
backward leaves gradients; every train-mode forward moves BatchNorm's running statistics. A
:class:`Pristine` taken right after the build undoes all of that:

* each module's attribute dictionary (children, parameters, buffers, every hook dictionary, the training
  flag, any attribute a proxy set or removed) and its class, as they were;
* every parameter, buffer and tensor attribute back to its built values, dtype, device and strides (an
  in-place copy on the device, or new storage where a proxy changed dtype, device or layout), gradients
  cleared, ``requires_grad`` and tensor hooks as built.

So the restored network is the freshly built one, in the objects the build made: tests check the
scores of every built-in proxy on every space against one fresh build per proxy, bit for bit.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _copied(value: Any) -> Any:
    """A shallow copy of a container attribute (hook dictionaries, ``_modules``, ``_parameters``, sets of
    names), so that what a proxy adds to the live one is not in the snapshot."""
    return value.copy() if isinstance(value, (dict, list, set)) else value  # OrderedDict.copy: C speed


class Pristine:
    """The state of ``net`` when taken; :meth:`restore` brings ``net`` back to it."""

    def __init__(self, net: nn.Module) -> None:
        self.modules = [(m, type(m), {k: _copied(v) for k, v in m.__dict__.items()}) for m in net.modules()]
        seen: set[int] = set()
        self.tensors: list[tuple[torch.Tensor, torch.Tensor, bool]] = []
        with torch.no_grad():
            for m in net.modules():
                owned = [*m._parameters.values(), *m._buffers.values()]
                owned += [v for v in m.__dict__.values() if isinstance(v, torch.Tensor)]
                for t in owned:
                    if t is None or id(t) in seen:
                        continue
                    seen.add(id(t))
                    self.tensors.append((t, t.detach().clone(), t.requires_grad))

    def restore(self) -> None:
        """Undo everything a proxy did to the network (see the module docstring)."""
        for m, cls, attrs in self.modules:
            if type(m) is not cls:
                m.__class__ = cls
            m.__dict__.clear()
            m.__dict__.update({k: _copied(v) for k, v in attrs.items()})
        same_dst, same_src = [], []
        with torch.no_grad():
            for t, saved, requires_grad in self.tensors:
                if (t.dtype, t.device, t.shape, t.stride()) == (saved.dtype, saved.device, saved.shape, saved.stride()):
                    same_dst.append(t)
                    same_src.append(saved)
                else:  # synflow's .double(), a proxy's .to(): new storage like the built one
                    t.data = saved.clone()
                if t.is_leaf:
                    t.grad = None
                    if t.requires_grad != requires_grad:
                        t.requires_grad_(requires_grad)
                for hooks in (getattr(t, "_backward_hooks", None), getattr(t, "_post_accumulate_grad_hooks", None)):
                    if hooks:
                        hooks.clear()  # the autograd engine holds this dictionary: cleared, the hooks are gone
            if same_dst:
                torch._foreach_copy_(same_dst, same_src)  # one fused copy on a GPU, not one kernel per tensor
