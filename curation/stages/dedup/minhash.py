"""Vectorised MinHash over character (or word) n-grams.

Why this shape: hashing each shingle in Python (datasketch, data-juicer) costs ~1 us per shingle
and per permutation loop. Here a batch of documents becomes one array of code points; n-gram
hashes are a polynomial over shifted views of that array; the `num_perm` permutations are
`(a * h + b) mod 2**32` applied to cache-sized blocks, and per-document minima come from
`np.minimum.reduceat` along the contiguous axis. Everything is deterministic given `seed`.
`MinHasher.signatures` runs the same computation compiled (minhash_jit.py) when numba is
installed; the numpy code here is its reference (`signatures_numpy`, tests compare the two).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from curation.stages.dedup import minhash_jit

_MASK32 = np.uint64(0xFFFFFFFF)
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
# Shingles per permutation block: num_perm x this x 4 bytes stays inside L2 cache.
_BLOCK_SHINGLES = 2048


def _mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place on a uint64 array."""
    values ^= values >> np.uint64(30)
    values *= _MIX
    values ^= values >> np.uint64(27)
    values *= _MIX2
    values ^= values >> np.uint64(31)
    return values


def _odd_multipliers(rng: np.random.Generator, count: int) -> np.ndarray:
    return rng.integers(1, 2**63, size=count, dtype=np.uint64) | np.uint64(1)


def ngram_hashes(units: np.ndarray, lengths: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of every n-gram of each document, documents concatenated in `units`.

    `units` holds uint64 token ids (code points or word hashes) of all documents back to back and
    `lengths` the per-document unit counts. A document shorter than `n` (but not empty) yields one
    shingle covering all of it. Returns (hashes uint32, counts per document).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    ends = starts + lengths
    mult = _odd_multipliers(np.random.default_rng([seed, 0x5EED, n]), n)
    padded = np.zeros(total + n, dtype=np.uint64)
    padded[:total] = units
    grams = padded[:total] * mult[0]
    for k in range(1, n):
        grams += padded[k : total + k] * mult[k]
    # Valid n-gram starts: i with i + n <= end of its document. Short docs: their first position.
    counts = np.maximum(lengths - n + 1, np.minimum(lengths, 1))
    pos_doc = np.repeat(np.arange(len(lengths)), counts)
    first = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    pos = starts[pos_doc] + (np.arange(int(counts.sum())) - first[pos_doc])
    short = (lengths < n) & (lengths > 0)
    if short.any():
        # Recompute short documents' single shingle over their own units only (no bleed-over).
        for doc in np.flatnonzero(short):
            s, e = starts[doc], ends[doc]
            grams[s] = np.sum(padded[s:e] * mult[: e - s], dtype=np.uint64) + np.uint64(e - s)
    out = _mix64(grams[pos])
    return (out & _MASK32).astype(np.uint32), counts


class MinHasher:
    """MinHash signatures (uint32, shape (docs, num_perm)) for batches of normalized texts."""

    def __init__(
        self,
        num_perm: int = 256,
        ngram: int = 5,
        seed: int = 42,
        tokenizer: Callable[[str], Sequence[str]] | None = None,
    ) -> None:
        rng = np.random.default_rng([seed, num_perm])
        self.num_perm, self.ngram, self.seed = num_perm, ngram, seed
        self.a = (rng.integers(1, 2**32, size=num_perm, dtype=np.uint64) | np.uint64(1)).astype(np.uint32)
        self.b = rng.integers(0, 2**32, size=num_perm, dtype=np.uint64).astype(np.uint32)
        self.tokenizer = tokenizer

    def _units(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        if self.tokenizer is None:
            joined = "".join(texts).encode("utf-32-le")
            units = np.frombuffer(joined, dtype=np.uint32).astype(np.uint64)
            return units, np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        import xxhash

        token_lists = [self.tokenizer(t) for t in texts]
        hashes = [xxhash.xxh3_64_intdigest(tok.encode()) for toks in token_lists for tok in toks]
        return np.array(hashes, dtype=np.uint64), np.array([len(t) for t in token_lists], dtype=np.int64)

    def shingles(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(uint32 shingle hashes of all docs back to back, shingle count per doc)."""
        units, lengths = self._units(texts)
        return ngram_hashes(units, lengths, self.ngram, self.seed)

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text; empty texts get an all-0xFFFFFFFF row (callers must exclude them).
        Computed by the compiled kernel (minhash_jit.py) when numba is installed, else by numpy:
        the same values either way."""
        kernel = minhash_jit.load()
        if kernel is None:
            return self.signatures_numpy(texts)
        units, lengths = self._units(texts)
        sig = np.full((len(lengths), self.num_perm), 0xFFFFFFFF, dtype=np.uint32)
        mult = _odd_multipliers(np.random.default_rng([self.seed, 0x5EED, self.ngram]), self.ngram)
        kernel(np.ascontiguousarray(units, dtype=np.uint64), lengths, self.ngram, mult, self.a, self.b, sig)
        return sig

    def signatures_numpy(self, texts: Sequence[str]) -> np.ndarray:
        """`signatures` in numpy only (the reference the kernel is tested against)."""
        hashes, counts = self.shingles(texts)
        return self.signatures_from_shingles(hashes, counts)

    def signatures_from_shingles(self, hashes: np.ndarray, counts: np.ndarray) -> np.ndarray:
        n_docs = len(counts)
        sig = np.full((n_docs, self.num_perm), 0xFFFFFFFF, dtype=np.uint32)
        nonempty = np.flatnonzero(counts > 0)
        if len(nonempty) == 0:
            return sig
        offsets = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        a, b = self.a[:, None], self.b[:, None]
        buf = np.empty((self.num_perm, _BLOCK_SHINGLES + int(counts.max())), dtype=np.uint32)
        i = 0
        while i < len(nonempty):
            # Take whole documents until the block is full (at least one document).
            lo = offsets[nonempty[i]]
            j = int(np.searchsorted(offsets[nonempty + 1], lo + _BLOCK_SHINGLES, side="right"))
            j = max(j, i + 1)
            docs = nonempty[i:j]
            hi = offsets[docs[-1] + 1]
            block = buf[:, : hi - lo]
            np.multiply(a, hashes[None, lo:hi], out=block)
            block += b
            sig[docs] = np.minimum.reduceat(block, offsets[docs] - lo, axis=1).T
            i = j
        return sig


def jaccard(a: set | np.ndarray, b: set | np.ndarray) -> float:
    """Exact Jaccard of two shingle sets (used for evaluation and tests, not in the hot path)."""
    sa, sb = set(np.asarray(list(a)).tolist()), set(np.asarray(list(b)).tolist())
    union = len(sa | sb)
    return len(sa & sb) / union if union else 1.0
