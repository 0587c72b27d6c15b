"""The recipe's `dedup:` section (validated here, owned by this package)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from curation.text.normalize import DEFAULT_FIELDS


class DedupConfig(BaseModel):
    """Exact then near-duplicate removal; defaults match data-juicer's Chinese advice (char 5-grams,
    256 permutations, Jaccard 0.7) with bands/rows derived from the threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exact: bool = Field(True, description="Drop records whose normalized text is identical.")
    near: bool = Field(True, description="MinHash LSH near-duplicate clusters.")
    fields: list[Literal["instruction", "input", "output"]] = Field(
        default_factory=lambda: list(DEFAULT_FIELDS), description="Record fields that make the text."
    )
    across_sources: bool = Field(True, description="False: only compare records of the same source.")
    fold_script: bool = Field(
        True, description="Fold traditional script and Taiwan phrasing to simplified (OpenCC) before "
        "keys and shingles, so the same text in either script matches; clusters.jsonl says when a "
        "match needed it.",
    )
    shingle: Literal["char", "word"] = Field("char", description="char n-grams, or word n-grams via the segmenter.")
    ngram: int = Field(5, ge=1, le=32, description="Shingle size (characters or words).")
    segmenter: Literal["jieba", "rjieba"] = Field("rjieba", description="Used when shingle=word.")
    num_perm: int = Field(256, ge=8, le=1024)
    threshold: float = Field(0.7, gt=0.0, lt=1.0, description="Jaccard similarity regarded as duplicate.")
    bands: int | None = Field(None, ge=1, description="Override; default from the threshold.")
    rows: int | None = Field(None, ge=1, description="Override; default from the threshold.")
    verify: bool = Field(
        True, description="Keep an LSH candidate edge only if its MinHash similarity >= threshold."
    )
    votes_keys: list[str] = Field(
        default_factory=lambda: ["votes", "upvotes", "voteup_count", "likes", "score"],
        description="provenance.extra keys holding votes (first found wins); keep policy input.",
    )
    workers: int = Field(0, ge=0, description="Processes for the signature pass; 0 = all cores.")
    seed: int = 42

    @model_validator(mode="after")
    def _bands_rows(self) -> DedupConfig:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both bands and rows, or neither")
        if self.bands is not None and self.bands * self.rows > self.num_perm:  # type: ignore[operator]
            raise ValueError(f"bands*rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        return self

    def band_rows(self) -> tuple[int, int]:
        """(bands, rows): explicit, or optimal for `threshold` with equal FP/FN weights."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        from curation.stages.dedup.lsh import optimal_params

        return optimal_params(self.threshold, self.num_perm)
