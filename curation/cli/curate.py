"""`cqia curate RUN [--recipe FILE]`: clean -> [quality] -> filter -> plug-in stages on `validate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from curation.cli.common import ExecutorOpt, RayAddressOpt, console, fail, stage_executor, stage_table
from curation.pipeline.recipe import Recipe, RecipeError, load_recipe
from curation.pipeline.rundir import RunDir, RunDirError
from curation.pipeline.runner import failed_calls_note
from curation.pipeline.storage import as_path


def source_setting_overrides(recipe: Recipe, sources: list[str]) -> Recipe:
    """Fold per-source settings (`sources/settings/<name>.yaml` options such as `opencc: t2s`)
    into the recipe; an explicit per-source entry in the recipe file wins."""
    from sources.settings import known_sources, load_settings

    known = set(known_sources())
    for source in sources:
        if source not in known:
            continue
        options: dict[str, Any] = load_settings(source).options
        if options.get("opencc"):
            recipe = recipe.with_overrides(source, clean={"opencc": options["opencc"]})
    return recipe


def curate(
    run: Annotated[Path, typer.Argument(parser=as_path, help="Run directory with a completed `validate` stage "
                                        "(local path or s3://bucket/path).")],
    recipe: Annotated[str | None, typer.Option(help="Recipe YAML (default: the packaged default).")] = None,
    upstream: Annotated[str, typer.Option(help="Stage to curate.")] = "validate",
    until: Annotated[str | None, typer.Option(help="Stop after this stage (e.g. clean).")] = None,
    workers: Annotated[int | None, typer.Option(help="Override the recipe's worker processes.")] = None,
    force: Annotated[bool, typer.Option(help="Recompute stages even if complete.")] = False,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
) -> None:
    """Clean + metrics -> [LLM quality] -> filter -> [dedup, decontaminate] on a run (recipe-driven)."""
    from curation.stages.chain import curate_run

    try:
        loaded = load_recipe(recipe)
        if workers is not None:
            loaded = loaded.model_copy(update={"workers": workers})
        sources = list(RunDir(run).require_manifest(upstream)["counts"]["by_source"])
        loaded = source_setting_overrides(loaded, sources)
        with stage_executor(executor, ray_address, default_workers=loaded.workers) as ex:
            results = curate_run(run, loaded, upstream=upstream, force=force, until=until, executor=ex)
    except (RecipeError, RunDirError, RuntimeError) as exc:
        fail(str(exc))
    console.print(f"recipe: {loaded.path}")
    console.print(stage_table([r.manifest for r in results], title=f"curate {run}"))
    for result in results:
        if note := failed_calls_note(result.manifest):
            console.print(f"[bold yellow]warning:[/] {note}", soft_wrap=True, highlight=False)
