"""PII detection and redaction for Chinese text (rules: shared/design/pii-standard.md).

`find_pii` gives non-overlapping typed spans, `detect_and_redact` replaces them with typed
placeholders (`<MOBILE>`, `<LANDLINE>`, `<ID_CARD>`, `<BANK_CARD>`, `<EMAIL>`, `<IP>`, `<QQ>`,
`<WECHAT>`); `score` measures a detector against a labelled set of exact spans.
"""

from curation.stages.pii.detect import (
    CHECKSUM_TYPES,
    PiiMatch,
    detect_and_redact,
    find_pii,
    id_card_valid,
    luhn_valid,
    may_hold_pii,
    redact,
)

__all__ = ["CHECKSUM_TYPES", "PiiMatch", "detect_and_redact", "find_pii", "id_card_valid", "luhn_valid", "may_hold_pii",
           "redact"]
