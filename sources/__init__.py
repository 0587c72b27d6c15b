"""One module per source: each knows one site's or file's format, yields records, writes nothing."""
