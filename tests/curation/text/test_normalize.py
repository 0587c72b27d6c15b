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
