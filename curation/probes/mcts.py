"""MCTS-explore seed selection (the GPTFuzz policy), written for our template tree.

Why: uniform seed choice wastes the mutation budget on unproductive templates; MCTS-explore balances
reward (how often a template's descendants succeeded) against exploration, and with probability
`alpha` stops early at a non-leaf node so the tree keeps widening.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field


@dataclass
class Node:
    template_id: str
    level: int = 0
    visits: int = 0
    reward: float = 0.0
    children: list[Node] = field(default_factory=list)


class MCTSExplore:
    """select() -> a node to mutate; add_child(); update(successes, trials) backs the reward up the path."""

    def __init__(self, seed_ids: list[str], rng: random.Random, ratio: float = 0.5, alpha: float = 0.1,
                 beta: float = 0.2) -> None:
        if not seed_ids:
            raise ValueError("MCTS needs at least one seed template")
        self.roots = [Node(t) for t in seed_ids]
        self.nodes = {n.template_id: n for n in self.roots}
        self.rng = rng
        self.ratio, self.alpha, self.beta = ratio, alpha, beta
        self.step = 0
        self.path: list[Node] = []

    def _uct(self, node: Node) -> float:
        return node.reward / (node.visits + 1) + self.ratio * math.sqrt(2 * math.log(self.step) / (node.visits + 0.01))

    def _best(self, nodes: list[Node]) -> Node:
        # ties broken by the seeded RNG, not by list order
        scored = [(self._uct(n), self.rng.random(), n) for n in nodes]
        return max(scored, key=lambda t: (t[0], t[1]))[2]

    def select(self) -> Node:
        self.step += 1
        node = self._best(self.roots)
        self.path = [node]
        while node.children and self.rng.random() >= self.alpha:
            node = self._best(node.children)
            self.path.append(node)
        for n in self.path:
            n.visits += 1
        return node

    def add_child(self, parent: Node, template_id: str) -> Node:
        child = Node(template_id, level=parent.level + 1)
        parent.children.append(child)
        self.nodes[template_id] = child
        return child

    def update(self, successes: float, trials: int) -> None:
        """Reward the selected path by the success rate of the new template(s)."""
        if not self.path or trials <= 0:
            return
        reward = successes / trials
        last = self.path[-1]
        for node in reversed(self.path):
            node.reward += reward * max(self.beta, 1 - 0.1 * last.level)
