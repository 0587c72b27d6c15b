"""Chinese text helpers shared by curation stages: segmenter, language ID, CJK classes, stopwords."""
