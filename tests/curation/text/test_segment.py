"""The one segmenter interface: both backends split Chinese into words, not sentences."""

from __future__ import annotations

import pytest

from curation.text.segment import SEGMENTERS, get_segmenter


@pytest.mark.parametrize("name", SEGMENTERS)
def test_chinese_sentence_is_split_into_words(name: str) -> None:
    words = get_segmenter(name).cut("我们在北京大学学习机器学习")
    assert words[:3] == ["我们", "在", "北京大学"]
    assert "".join(words) == "我们在北京大学学习机器学习"


@pytest.mark.parametrize("name", SEGMENTERS)
def test_whitespace_tokens_are_dropped(name: str) -> None:
    words = get_segmenter(name).cut("今天 天气\n很好")
    assert all(w.strip() for w in words)
    assert "".join(words) == "今天天气很好"


def test_backends_agree_on_plain_chinese() -> None:
    text = "小明硕士毕业于中国科学院计算所，后在日本京都大学深造。"
    assert get_segmenter("jieba").cut(text) == get_segmenter("rjieba").cut(text)


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown segmenter 'pkuseg'"):
        get_segmenter("pkuseg")


def test_instance_is_reused() -> None:
    assert get_segmenter("jieba") is get_segmenter("jieba")
