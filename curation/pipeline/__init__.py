"""Machinery every stage uses: run directories, the stage runner, atomic writes, recipes, row helpers."""
