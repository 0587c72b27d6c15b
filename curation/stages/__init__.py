"""What runs over records: validate, the curation chain, clean, metrics, filters, PII, dedup, decontamination, LLM quality and answers."""
