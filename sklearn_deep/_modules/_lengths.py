"""Groups of similar lengths in a batch of sequences (recurrent, Transformer)."""

import torch


def length_groups(lengths, waste=4.0, max_groups=8):
    """Index groups of a batch whose sequences are run through the cell apart.

    A packed batch whose lengths differ widely is slow on the CPU: its
    backward pass grows faster than linearly with the longest length (one
    20,000-step sequence among 31 of 3 steps took 100x the time of the long
    sequence alone); attention costs the square of the padded length. While
    padding the batch to its longest member would cost more than ``waste``
    times its valid steps, it is split at the length that makes the two
    halves' padded sizes smallest, up to ``max_groups`` groups.
    Each sequence's result does not depend on its group.
    """
    order = torch.argsort(lengths, stable=True)
    pending, done = [order], []
    while pending:
        group = pending.pop()
        sorted_lengths = lengths[group]
        n = len(group)
        padded = int(sorted_lengths[-1]) * n
        if n < 2 or padded <= waste * int(sorted_lengths.sum()):
            done.append(group)
            continue
        if len(done) + len(pending) + 2 > max_groups:
            done.append(group)
            continue
        # padded size of the split before position k: len_{k-1} k + len_{n-1} (n - k)
        k = torch.arange(1, n)
        cost = sorted_lengths[:-1] * k + sorted_lengths[-1] * (n - k)
        cut = int(torch.argmin(cost)) + 1
        pending += [group[:cut], group[cut:]]
    return sorted(done, key=lambda g: int(g[0]))


def by_length_groups(run, x, lengths):
    """``run(x, lengths)``, the batch's widely different lengths apart.

    ``x`` is padded ``(N, T, ...)`` with ``lengths`` (N,): each group of
    ``length_groups`` runs padded to its own longest member, and the results
    come back in the batch's order. An export (tracing) runs one graph.
    """
    if torch.jit.is_tracing():  # an export: one traced graph of any lengths
        return run(x, lengths)
    groups = length_groups(lengths.cpu())
    if len(groups) == 1:
        return run(x, lengths)
    parts = [run(x[g, : int(lengths[g].max())], lengths[g]) for g in groups]
    order = torch.argsort(torch.cat(groups)).to(x.device)
    return torch.cat(parts).index_select(0, order)  # back to the batch's order
