"""The fetch layer shared by web sources: polite fetcher, raw cache, ordered crawler, pages."""

from sources.http.cache import CachedResponse, RawCache
from sources.http.crawl import Crawler, CrawlStats
from sources.http.fetcher import FetchConfig, Fetcher
from sources.http.page import RawPage, decode_bytes, page_from_file, page_from_response

__all__ = [
    "CachedResponse", "Crawler", "CrawlStats", "FetchConfig", "Fetcher", "RawCache", "RawPage",
    "decode_bytes", "page_from_file", "page_from_response",
]
