"""Key normalisation: widths and punctuation folded, and script folding for traditional text only."""

from __future__ import annotations

from curation.text.normalize import fold_script, normalize_text


def test_normalize_drops_punctuation_and_folds_width() -> None:
    assert normalize_text("Ｈｅｌｌｏ，世界！ 你好。") == "hello世界你好"


def test_fold_script_maps_traditional_and_taiwan_phrasing_to_mainland() -> None:
    assert fold_script("軟體和滑鼠") == "软件和鼠标"
    assert normalize_text("這個程式，預設。", fold=True) == "这个程序预设"


def test_fold_script_leaves_simplified_text_alone() -> None:
    # tw2sp alone would turn mainland 程序 (program) into 进程 (process): simplified text is not converted
    for text in ("这个程序的默认值", "乾隆皇帝吃面条", "plain ascii text", ""):
        assert fold_script(text) == text


def test_normalize_text_equals_the_reference_formula_on_mixed_scripts() -> None:
    """The fast path (schemas.nfkc + per-plane deletion classes) gives exactly
    NFKC -> lower -> delete P*/Z*/Cc/Cf, including astral punctuation and format characters."""
    import random
    import sys
    import unicodedata

    drop = {cp: None for cp in range(sys.maxunicode + 1)
            if unicodedata.category(chr(cp))[0] in "PZ" or unicodedata.category(chr(cp)) in ("Cc", "Cf")}
    rng = random.Random(3)
    picks = (lambda: rng.randrange(0x20, 0x3100), lambda: rng.randrange(0x4E00, 0x4F00),
             lambda: rng.randrange(0xFF00, 0xFF70), lambda: rng.randrange(0x10000, 0x30000),
             lambda: rng.choice((0xE0001, 0x1D173, 0x10100, 0x3002, 0xFF0C, 0x301, 0xAC00, 0x1161)))
    for _ in range(20_000):
        text = "".join(chr(rng.choice(picks)()) for _ in range(rng.randint(1, 16)))
        assert normalize_text(text) == unicodedata.normalize("NFKC", text).lower().translate(drop), ascii(text)
